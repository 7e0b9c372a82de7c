import FlowModel
import Foundation
import Testing

/// The sequence that once left a flow stuck while it said `running`: a
/// breakpoint in the middle of a flow, a message that sends several through
/// it, two steps, resume; then remove the breakpoint and resume.
@Suite(.timeLimit(.minutes(3))) struct DebuggerSequenceTests {
    /// src sends three messages to mid per input; mid forwards; sink keeps what it got in its state.
    static let flow: JSONValue = [
        "id": "seq",
        "modules": [
            ["id": "src", "runtime": "node", "code": "exports.onMessage = (msg, ctx) => { for (const i of [1, 2, 3]) ctx.send('out', i) }"],
            ["id": "mid", "runtime": "python3", "code": "def on_message(msg, ctx):\n    return msg.payload * 10\n"],
            ["id": "sink", "runtime": "node", "code": "exports.onMessage = (msg, ctx) => { (ctx.state.got ||= []).push(msg.payload) }"],
        ],
        "connections": [["from": "src.out", "to": "mid.in"], ["from": "mid.out", "to": "sink.in"]],
    ]

    func module(_ flow: JSONValue, _ id: String) -> JSONValue? {
        flow["modules"]?.arrayValue?.first { $0["id"] == .string(id) }
    }

    @Test func resumeAtABreakpointThatIsHitAgainSaysPausedAndRemovingItReleasesEverythingInOrder() async throws {
        try await withServer { server in
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": Self.flow])["result"] == true)
            #expect(try await server.rpc("setBreakPointAtModule", ["flowModuleId": "seq/mid"])["result"] == true)
            #expect(try await server.rpc("inject", ["flowModuleId": "seq/src", "payload": 0])["result"] == true)
            try await eventually("paused at mid") { try await server.status("seq")["pausedAt"]?["module"] == "mid" }

            let first = try await server.rpc("singleStepFlow", ["flowId": "seq"])["result"]
            #expect(first?["seq/mid"]?["inputStates"] == ["in": 1])
            let second = try await server.rpc("singleStepFlow", ["flowId": "seq"])["result"]
            #expect(second?["seq/mid"]?["inputStates"] == ["in": 2])
            #expect(second?["seq/sink"]?["inputStates"] == ["in": 10])

            // Message 3 is still held for mid, which has a breakpoint: resume stops there again, and says so.
            #expect(try await server.rpc("resumeFlow", ["flowId": "seq"])["result"] == true)
            let again = try await server.status("seq")
            #expect(again["status"] == "paused", "a flow that holds messages says paused: \(again)")
            #expect(again["pausedAt"]?["module"] == "mid")
            #expect(again["pausedAt"]?["payload"] == 3)

            // A second resume is not refused: it passes the breakpoint once, so 3 reaches mid.
            #expect(try await server.rpc("removeBreakPointAtModule", ["flowModuleId": "seq/mid"])["result"] == true)
            #expect(try await server.status("seq")["status"] == "paused", "removing a breakpoint does not resume")
            #expect(try await server.rpc("resumeFlow", ["flowId": "seq"])["result"] == true)
            try await eventually("sink got everything") {
                self.module(try await server.status("seq"), "sink")?["moduleState"]?["got"] == [10, 20, 30]
            }
            let done = try await server.status("seq")
            #expect(done["status"] == "running")
            #expect(done["pausedAt"] == nil)
            #expect(try await server.rpc("resumeFlow", ["flowId": "seq"])["result"] == false, "nothing left to resume")
        }
    }

    @Test func aStepAfterResumePausesAgainAndSettingABreakpointWhileSteppingKeepsTheFlowPaused() async throws {
        try await withServer { server in
            _ = try await server.rpc("addOrUpdateFlow", ["flow": Self.flow])
            _ = try await server.rpc("setBreakPointAtModule", ["flowModuleId": "seq/sink"])
            _ = try await server.rpc("inject", ["flowModuleId": "seq/src", "payload": 0])
            try await eventually("paused at sink") { try await server.status("seq")["pausedAt"]?["module"] == "sink" }
            _ = try await server.rpc("removeBreakPointAtModule", ["flowModuleId": "seq/sink"])
            #expect(try await server.rpc("resumeFlow", ["flowId": "seq"])["result"] == true)
            try await eventually("sink got everything") {
                self.module(try await server.status("seq"), "sink")?["moduleState"]?["got"] == [10, 20, 30]
            }
            // A step of a running flow pauses it first; with nothing queued it is empty and the flow stays paused.
            #expect(try await server.rpc("singleStepFlow", ["flowId": "seq"])["result"] == [:])
            #expect(try await server.status("seq")["status"] == "paused")
            _ = try await server.rpc("setBreakPointAtModule", ["flowModuleId": "seq/mid"])
            _ = try await server.rpc("inject", ["flowModuleId": "seq/src", "payload": 0])
            let step = try await server.rpc("singleStepFlow", ["flowId": "seq"])["result"]
            #expect(step?["seq/src"]?["outputStates"] == ["out": [1, 2, 3]])
            #expect(try await server.status("seq")["status"] == "paused")
            _ = try await server.rpc("removeBreakPointAtModule", ["flowModuleId": "seq/mid"])
            #expect(try await server.rpc("resumeFlow", ["flowId": "seq"])["result"] == true)
            try await eventually("sink got the second round") {
                self.module(try await server.status("seq"), "sink")?["moduleState"]?["got"] == [10, 20, 30, 10, 20, 30]
            }
            #expect(try await server.status("seq")["status"] == "running")
        }
    }
}
