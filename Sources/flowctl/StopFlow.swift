import ArgumentParser
import FlowModel

struct StopFlow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stopFlow", abstract: "Stop a flow; it stays deployed.", aliases: ["stop-flow"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "The flow id.") var flowId: String

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("stopFlow", ["flowId": .string(flowId)]).prettyText)
        }
    }
}
