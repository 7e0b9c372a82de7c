import FlowModel
import Foundation
import RunnerProtocol
import Testing
@testable import RunnerHost

/// A swap of a paused flow moves each held message by the input it was sent to, not by a slot
/// number: a module added to the same instance before it renumbers the slots, and the messages
/// held for the old module still go to it.
@Suite(.timeLimit(.minutes(2))) struct PausedSwapTests {
    static func module(_ id: String) -> String {
        #"{"id": "\#(id)", "runtime": "python3", "code": "def on_message(msg, ctx):\n    return '\#(id):' + str(msg.payload)\n"}"#
    }

    @Test func heldMessagesFollowTheirInputWhenASwapRenumbersTheSlots() async throws {
        try await withRunner { h in
            let v1 = try RunnerHarness.flow(#"{"id": "held", "modules": [\#(Self.module("b"))]}"#)
            _ = try await h.host.deploy(v1, breakpoints: [Breakpoint(module: ModuleID("b"))], start: true)
            for i in 0..<3 { try await h.inject("held", "b", "\(i)") }
            try await eventually("three held for b") {
                (try await h.host.status(FlowID("held")).modules.first { $0.id == ModuleID("b") }?.queued ?? 0) == 3
            }
            #expect(h.recorder.outputs("held").isEmpty, "paused: nothing ran")
            // a0 joins b's python instance before it: b's input is slot 1 from now on (it was 0).
            let v2 = try RunnerHarness.flow(#"{"id": "held", "modules": [\#(Self.module("a0")), \#(Self.module("b"))]}"#)
            _ = try await h.host.deploy(v2, breakpoints: [Breakpoint(module: ModuleID("b"))])
            #expect(try await h.host.status(FlowID("held")).state == .paused)
            _ = try await h.host.handle(.removeBreakpoint(flow: FlowID("held"), module: ModuleID("b")))
            _ = try await h.host.handle(.resume(FlowID("held")))
            try await h.recorder.wait(for: "three outputs") { $0.outputs("held").count >= 3 }
            #expect(Set(h.recorder.outputs("held")) == ["\"b:0\"", "\"b:1\"", "\"b:2\""], "\(h.recorder.outputs("held"))")
        }
    }
}
