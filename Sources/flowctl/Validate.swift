import ArgumentParser
import FlowModel

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a flow file and list every problem; deploys nothing.")

    @Argument(help: "The flow file.") var file: String

    func run() async throws {
        try await reportingErrors {
            let (flow, _) = try FlowFile.load(file)
            printJSON(JSONValue.object(["valid": .bool(true), "id": .string(flow.id.rawValue), "modules": .int(flow.modules.count),
                                        "connections": .int(flow.connections.count)]).prettyText)
        }
    }
}
