import ArgumentParser
import FlowModel

struct ListFlows: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "listFlows", abstract: "The deployed flows.", aliases: ["list-flows"])

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("listFlows").prettyText)
        }
    }
}
