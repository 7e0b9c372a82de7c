import FlowModel
import Foundation
import Testing

/// `flowctl tail` follows large events and says why when it stops.
@Suite(.timeLimit(.minutes(2))) struct TailTests {
    @Test func tailPrintsEventsOver16KiBAndFailsLoudlyWhenTheServerGoes() async throws {
        let server = try await PolyflowServer.start()
        do {
            let flow: JSONValue = ["id": "wide", "modules": [["id": "m", "runtime": "node",
                                                              "code": "exports.onMessage = (msg, ctx) => 'y'.repeat(msg.payload)"]]]
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": flow])["result"] == true)
            let tail = try ChildProcess(Repo.flowctl, ["tail", "wide", "--events", "output"], environment: ["FLOWCTL_SERVER": server.url])
            try await tail.waitForStderr("following") { $0.contains("following") }
            _ = try await server.rpc("inject", ["flowModuleId": "wide/m", "payload": .int(1 << 20)])
            _ = try await server.rpc("inject", ["flowModuleId": "wide/m", "payload": 3])
            // Both arrive: the 1 MiB event did not end the stream (it used to, at 16 KiB, silently).
            _ = try await tail.waitForStdout("the small event after the big one") { $0.contains("\"payload\":\"yyy\"") }
            #expect(tail.stdout.contains { $0.utf8.count > 1 << 20 })
            #expect(try await server.stop() == 0)
            let status = try await tail.waitForExit(timeout: .seconds(30))
            #expect(status != 0, "a tail that stops is not a success")
            #expect(tail.stderr.contains { $0.contains("closed the event stream") }, "\(tail.stderr)")
        } catch {
            await server.cleanUp()
            throw error
        }
        await server.cleanUp()
    }
}
