import ArgumentParser
import FlowModel

struct ListDependencies: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listDependencies", abstract: "The dependency environments on the runners, with the modules that use them.",
        aliases: ["list-dependencies"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "Only this runtime's environments (python3 or node).") var runtimeId: String?

    func run() async throws {
        try await reportingErrors {
            var params: [String: JSONValue] = [:]
            if let runtimeId { params["runtimeId"] = .string(runtimeId) }
            printJSON(try await options.client.call("listDependencies", params).prettyText)
        }
    }
}
