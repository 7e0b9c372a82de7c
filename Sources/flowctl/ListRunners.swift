import ArgumentParser
import FlowModel

struct ListRunners: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runners", abstract: "The runners: the embedded one and those that joined, with state, runtimes, tags and modules.",
        aliases: ["listRunners", "list-runners"])

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("listRunners").prettyText)
        }
    }
}
