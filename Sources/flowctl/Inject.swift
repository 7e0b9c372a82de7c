import ArgumentParser
import FlowModel
import Foundation

struct Inject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a message into a module's input.",
        discussion: "Example: flowctl inject orders/parse '{\"id\": 1}'   or   flowctl inject orders/parse.in '\"text\"'")

    @OptionGroup var options: ClientOptions
    @Argument(help: "FLOW/MODULE or FLOW/MODULE.PORT (default port: the module's first input).") var target: String
    @Argument(help: "The payload, as JSON.") var payload: String

    func run() async throws {
        try await reportingErrors {
            var moduleRef = target
            var port: String?
            if let slash = target.firstIndex(of: "/"), let dot = target[slash...].firstIndex(of: ".") {
                moduleRef = String(target[..<dot])
                port = String(target[target.index(after: dot)...])
            }
            guard FlowModuleID(parsing: moduleRef) != nil else {
                throw CLIError("inject: \"\(target)\" is not FLOW/MODULE or FLOW/MODULE.PORT")
            }
            let value: JSONValue
            do { value = try JSONValue(parsing: Data(payload.utf8)) } catch {
                throw CLIError("inject: the payload is not valid JSON (\(FlowValidator.describe(error))); quote text as '\"text\"'")
            }
            var params: [String: JSONValue] = ["flowModuleId": .string(moduleRef), "payload": value]
            if let port { params["port"] = .string(port) }
            printJSON(try await options.client.call("inject", params).prettyText)
        }
    }
}
