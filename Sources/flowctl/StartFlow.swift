import ArgumentParser
import FlowModel

struct StartFlow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "startFlow", abstract: "Start a deployed flow.", aliases: ["start-flow"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "The flow id.") var flowId: String

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("startFlow", ["flowId": .string(flowId)]).prettyText)
        }
    }
}
