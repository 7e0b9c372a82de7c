import ArgumentParser
import FlowModel

struct AddOrUpdateFlow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "addOrUpdateFlow", abstract: "Deploy a flow file (code files inlined), or update the deployed flow.",
        aliases: ["add-or-update-flow"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "The flow file.") var file: String
    @Option(name: .customLong("expected-revision"), help: "Refuse the update unless the flow is at this revision.")
    var expectedRevision: Int?
    @Flag(name: .customLong("no-start"), help: "Deploy a new flow without starting it.")
    var noStart = false

    func run() async throws {
        try await reportingErrors {
            let (_, json) = try FlowFile.load(file)
            var params: [String: JSONValue] = ["flow": json]
            if let expectedRevision { params["expectedRevision"] = .int(expectedRevision) }
            if noStart { params["start"] = .bool(false) }
            // A flow with dependencies may install packages first: show that as it goes.
            let installs = json["modules"]?.arrayValue?.contains { $0["dependencies"]?.arrayValue?.isEmpty == false } ?? false
            let result = installs
                ? try await ProgressCall(options: options, flow: json["id"]?.stringValue).call("addOrUpdateFlow", params)
                : try await options.client.call("addOrUpdateFlow", params)
            printJSON(result.prettyText)
        }
    }
}
