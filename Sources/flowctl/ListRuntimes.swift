import ArgumentParser
import FlowModel

struct ListRuntimes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "listRuntimes", abstract: "The language runtimes available.", aliases: ["list-runtimes"])

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("listRuntimes").prettyText)
        }
    }
}
