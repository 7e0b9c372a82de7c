import ArgumentParser
import FlowModel

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Runners, runtime instances and modules.", aliases: [])

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("status").prettyText)
        }
    }
}
