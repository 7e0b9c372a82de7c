import FlowModel
import Foundation
import RunnerProtocol
import Testing
@testable import RunnerHost

/// A deploy that takes modules off a runner (a move nothing forces, docs/runner-protocol.md,
/// "Moves"): the runner finishes what was queued for them, and its reply carries their
/// states after exactly those messages (`released`).
@Suite(.timeLimit(.minutes(2))) struct ReleaseTests {
    static func flow(_ runtime: RuntimeKind) -> String {
        let code = CrashRecoveryTests.countingCode[runtime]!
        return #"{"id": "hand", "modules": [{"id": "a", "runtime": "python3", "code": "def on_message(msg, ctx):\n    return msg.payload\n"}, {"id": "count", "runtime": "\#(runtime.rawValue)", "code": \#(js(code))}], "connections": [{"from": "a.out", "to": "count.in"}]}"#
    }

    @Test(arguments: [RuntimeKind.python3, .node])
    func aModuleTakenOffFinishesItsQueueAndItsStateComesInTheReply(runtime: RuntimeKind) async throws {
        try await withRunner { h in
            let flow = try await h.deployAndStart(Self.flow(runtime))
            let total = 300
            for i in 0..<total { try await h.inject("hand", "a", "\(i)") }
            // `count` leaves for another runner while messages are queued for it.
            let reply = await h.host.handle(.deploy(RemoteDeploy(flow: flow, placed: [PlacedModule(module: ModuleID("a"), gen: 1)])))
            guard case .released(let states) = reply else { Issue.record("reply \(reply)"); return }
            let n = states[ModuleID("count")]?["n"]?.intValue ?? -1
            let outputs = await h.recorder.events.outputs("hand").count
            #expect(n == outputs, "the state is after exactly what it finished (\(outputs) outputs)")
            #expect(n > 0)
        }
    }

    @Test func aRunnerThatLetsGoOfAllItRunsOfAFlowReleasesThemDrained() async throws {
        try await withRunner { h in
            let flow = try await h.deployAndStart(Self.flow(.node))
            for i in 0..<100 { try await h.inject("hand", "count", "\(i)") }
            let reply = await h.host.handle(.deploy(RemoteDeploy(flow: flow, placed: [])))
            guard case .released(let states) = reply else { Issue.record("reply \(reply)"); return }
            #expect(states[ModuleID("count")]?["n"]?.intValue == 100, "\(states)")
            #expect(await h.recorder.events.outputs("hand").count == 100)
        }
    }
}
