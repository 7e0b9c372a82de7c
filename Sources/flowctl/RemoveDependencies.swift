import ArgumentParser
import FlowModel

struct RemoveDependencies: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "removeDependencies", abstract: "Delete a dependency environment no deployed module uses.",
        aliases: ["remove-dependencies"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "The environment id (see listDependencies).") var envId: String

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("removeDependencies", ["envId": .string(envId)]).prettyText)
        }
    }
}
