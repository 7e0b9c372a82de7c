import ArgumentParser
import FlowModel

struct InstallDependencies: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "installDependencies",
        abstract: "Build the environment of a dependency list (shown as it installs); prints its id.",
        discussion: "Example: flowctl installDependencies python3 'requests==2.32.3' six",
        aliases: ["install-dependencies"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "The runtime: python3 or node.") var runtimeId: String
    @Argument(help: "Package specs: pip requirements for python3, npm specs (name@version, absolute path or tarball) for node.")
    var dependencies: [String]

    func validate() throws {
        if dependencies.isEmpty { throw ValidationError("give at least one package, e.g. flowctl installDependencies python3 'requests==2.32.3'") }
    }

    func run() async throws {
        try await reportingErrors {
            let result = try await ProgressCall(options: options, flow: nil)
                .call("installDependencies", ["runtimeId": .string(runtimeId), "dependencies": .array(dependencies.map { .string($0) })])
            printJSON(result.prettyText)
        }
    }
}
