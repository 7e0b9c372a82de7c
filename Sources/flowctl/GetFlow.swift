import ArgumentParser
import FlowModel

struct GetFlow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "getFlow", abstract: "A flow with its status, revision, module states and counters.", aliases: ["get-flow"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "The flow id.") var flowId: String

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("getFlow", ["flowId": .string(flowId)]).prettyText)
        }
    }
}
