import ArgumentParser
import FlowModel

struct RemoveFlow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "removeFlow", abstract: "Stop a flow and forget it (its processes and fifos go away).", aliases: ["remove-flow"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "The flow id.") var flowId: String

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("removeFlow", ["flowId": .string(flowId)]).prettyText)
        }
    }
}
