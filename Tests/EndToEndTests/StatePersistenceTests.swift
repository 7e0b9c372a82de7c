import FlowModel
import Foundation
import Testing

/// Module state comes back after a server restart: exactly after a clean
/// stop, and as of the last save (every 2 s) after a kill.
@Suite(.timeLimit(.minutes(3))) struct StatePersistenceTests {
    /// `init` sets a marker a restore must not reset; each message counts.
    static let counter: JSONValue = [
        "id": "count",
        "modules": [["id": "c", "runtime": "python3", "code": """
            def init(ctx):
                ctx.state["n"] = 1000
            def on_message(msg, ctx):
                ctx.state["n"] += 1
                return ctx.state["n"]
            """]],
    ]

    func count(_ server: PolyflowServer) async throws -> JSONValue? {
        try await server.status("count")["modules"]?.arrayValue?.first?["moduleState"]?["n"]
    }

    func inject(_ server: PolyflowServer, _ n: Int) async throws {
        for i in 0..<n { #expect(try await server.rpc("inject", ["flowModuleId": "count/c", "payload": .int(i)])["result"] == true) }
    }

    @Test func moduleStateSurvivesACleanRestartAndAKill() async throws {
        let state = tempDirectory("persist"), run = tempDirectory("persist-run")
        var server = try await PolyflowServer.start(stateDirectory: state, runtimeDirectory: run)
        do {
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": Self.counter])["result"] == true)
            try await inject(server, 5)
            try await eventually("five counted") { try await count(server) == 1005 }
            #expect(try await server.stop() == 0)

            server = try await PolyflowServer.start(stateDirectory: state, runtimeDirectory: run)
            try await eventually("the flow back with its state") { try await count(server) == 1005 }
            try await inject(server, 1)
            try await eventually("counting on from the saved state, init not run again") { try await count(server) == 1006 }

            // A kill gives no chance to save at the end: the periodic save has it.
            try await inject(server, 2)
            try await eventually("eight counted") { try await count(server) == 1008 }
            let file = state + "/flows/count.json"
            try await eventually("the periodic save", timeout: .seconds(20)) {
                let saved = try? JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: file)))
                return saved?["moduleStates"]?["c"]?["n"] == 1008
            }
            server.process.signal(SIGKILL)
            _ = try await server.process.waitForExit(timeout: .seconds(30))
            server = try await PolyflowServer.start(stateDirectory: state, runtimeDirectory: run)
            try await eventually("the state saved before the kill") { try await count(server) == 1008 }
        } catch {
            await server.cleanUp()
            throw error
        }
        await server.cleanUp()
    }
}
