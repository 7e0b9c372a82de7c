import ArgumentParser
import FlowModel

struct ListFlowsForRuntime: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listFlowsForRuntime", abstract: "The flows with a module on a runtime.", aliases: ["list-flows-for-runtime"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "python3, node or browser.") var runtimeId: String

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("listFlowsForRuntime", ["runtimeId": .string(runtimeId)]).prettyText)
        }
    }
}
