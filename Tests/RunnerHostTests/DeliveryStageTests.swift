import FlowModel
import Foundation
import NIOCore
import NIOEmbedded
import Testing
@testable import RunnerHost

/// The stages of delivery (docs/architecture.md, "Delivery stages"): the
/// debugger and the swap hold in front of the writer, each owning its own
/// state; and the runner's table of instances, which flow runs enter and leave.
@Suite(.timeLimit(.minutes(2))) struct DeliveryStageTests {
    final class Harness {
        let channel = EmbeddedChannel()
        let dataPath: DataPath
        let link: InstanceLink
        static let a = Endpoint(module: ModuleID("a"), port: PortName("in"))
        static let b = Endpoint(module: ModuleID("b"), port: PortName("in"))

        init(window: Int) {
            dataPath = DataPath(loop: channel.embeddedEventLoop, onOutput: { _, _, _ in })
            link = InstanceLink.standalone(dataPath: dataPath, flow: FlowID("f"), runtime: .python3,
                                           slots: [Self.a, Self.b], window: window, queueBound: 100)
            link.writer.attach(channel)
        }

        /// What the writer wrote to the runtime so far, as `D<slot> <payload>` lines.
        func written() throws -> [String] {
            dataPath.flushDirty()
            var lines: [String] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                lines += String(buffer: buffer).split(separator: "\n").map(String.init)
            }
            return lines
        }
    }

    @Test func aSwapHoldKeepsNewMessagesInOrderAndLetsTheDrainedSlotsThrough() throws {
        let h = Harness(window: 1)
        for p in ["1", "2", "3"] { h.link.deliver(slot: 0, payload: ByteBuffer(string: p)) }
        h.link.deliver(slot: 1, payload: ByteBuffer(string: "b1"))
        #expect(try h.written() == ["D0 1"], "a window of one: one frame in flight")
        // Module b is being removed: its slot drains; slot 0's queue moves into the hold.
        h.link.beginHold(drain: [1])
        h.link.deliver(slot: 0, payload: ByteBuffer(string: "4"))
        h.link.deliver(slot: 1, payload: ByteBuffer(string: "b2"))
        #expect(h.link.heldCount == 3)
        #expect(h.link.pendingCount(slot: 0) == 4, "one in flight, three held")
        h.link.ack(1, life: h.link.writer.life)
        #expect(try h.written() == ["D1 b1"], "the drained slot goes on during the hold; the held one waits")
        h.link.ack(2, life: h.link.writer.life)
        #expect(try h.written() == ["D1 b2"])
        h.link.ack(3, life: h.link.writer.life)
        #expect(h.link.isIdle)
        let released = h.link.endHold()
        #expect(released.map { String(buffer: $0.payload) } == ["2", "3", "4"], "held in arrival order")
        #expect(h.link.heldCount == 0)
    }

    @Test func theDebuggerStageTakesArrivingMessagesAndTheWriterGoesOneAtATime() throws {
        let h = Harness(window: 8)
        let debugger = FlowDebugger(loop: h.channel.embeddedEventLoop, links: [h.link], onPause: { _ in })
        h.link.report(to: debugger)
        debugger.load([])
        debugger.pause()
        #expect(h.link.tap === debugger, "a paused flow's link diverts to its debugger")
        for p in ["1", "2", "3"] { h.link.enqueue(slot: 0, payload: ByteBuffer(string: p)) }
        #expect(try h.written().filter { $0.hasPrefix("D") }.isEmpty, "held by the debugger, nothing written")
        #expect(debugger.heldCount == 3)
        // Past the debugger (a step or a release), the writer keeps one frame in flight.
        h.link.deliver(slot: 0, payload: ByteBuffer(string: "x"))
        h.link.deliver(slot: 0, payload: ByteBuffer(string: "y"))
        #expect(try h.written().filter { $0.hasPrefix("D") } == ["D0 x"])
        h.link.ack(1, life: h.link.writer.life)
        #expect(try h.written() == ["D0 y"])
        h.link.ack(2, life: h.link.writer.life)
        // Resumed with no breakpoint: the debugger leaves the path and the whole window is back.
        guard case .running = debugger.resume() else { Issue.record("the flow did not run on"); return }
        #expect(h.link.tap == nil)
        #expect(try h.written().filter { $0.hasPrefix("D") } == ["D0 1", "D0 2", "D0 3"], "released in order, the window open")
    }

    @Test func flowRunsEnterAndLeaveTheRunnersTableOfInstances() async throws {
        try await withRunner { h in
            let py = #"{"id": "a", "runtime": "python3", "code": "def on_message(msg, ctx):\n    return msg.payload\n"}"#
            let node = #"{"id": "b", "runtime": "node", "code": \#(js("module.exports = (msg) => msg.payload"))}"#
            _ = try await h.deployAndStart(#"{"id": "t", "modules": [\#(py), \#(node)], "connections": [{"from": "a.out", "to": "b.in"}]}"#)
            #expect(h.host.instances.count == 2, "one instance per runtime kind")
            // The node module leaves: its instance is retired from the table; the python one stays.
            let v2 = try RunnerHarness.flow(#"{"id": "t", "modules": [\#(py)]}"#)
            _ = try await h.host.deploy(v2)
            let left = h.host.instances.all
            #expect(left.map(\.plan.runtime) == [.python3])
            #expect(left.first?.status.modules == [ModuleID("a")])
            try await h.host.remove(FlowID("t"))
            #expect(h.host.instances.count == 0, "a removed flow leaves no instance behind")
        }
    }

    @Test func twoSwapsOfOneFlowAtOnceRunOneAfterTheOther() async throws {
        try await withRunner { h in
            func module(_ id: String, _ tag: String) -> String {
                #"{"id": "\#(id)", "runtime": "python3", "code": "def on_message(msg, ctx):\n    return '\#(tag)'\n"}"#
            }
            _ = try await h.deployAndStart(#"{"id": "two", "modules": [\#(module("a", "v1"))]}"#)
            let v2 = try RunnerHarness.flow(#"{"id": "two", "modules": [\#(module("a", "v2")), \#(module("b", "v2"))]}"#)
            let v3 = try RunnerHarness.flow(#"{"id": "two", "modules": [\#(module("a", "v3"))]}"#)
            // Both are swaps of the same running flow; the runner's actor lets the second in while the first waits.
            async let first: [ModuleID: JSONValue] = h.host.deploy(v2)
            async let second: [ModuleID: JSONValue] = h.host.deploy(v3)
            _ = try await (first, second)
            let status = try await h.host.status(FlowID("two"))
            #expect(status.modules.map(\.id) == [ModuleID("a")], "the last swap's plan")
            #expect(status.instances.count == 1 && status.instances[0].modules == [ModuleID("a")])
            try await h.inject("two", "a", "1")
            try await h.recorder.wait(for: "an output of the last version") { $0.outputs("two").contains("\"v3\"") }
        }
    }
}


/// A runner that stopped every module (its dispatcher was gone too long) goes on: what comes next deploys.
@Suite(.timeLimit(.minutes(2))) struct RemoveAllTests {
    @Test func afterRemovingEveryFlowTheRunnerStillTakesDeploys() async throws {
        try await withRunner { h in
            let py = #"{"id": "a", "runtime": "python3", "code": "def on_message(msg, ctx):\n    return msg.payload\n"}"#
            _ = try await h.deployAndStart(#"{"id": "back", "modules": [\#(py)]}"#)
            let pids = try await h.host.pids(FlowID("back"))
            await h.host.removeAll()
            #expect(h.host.instances.count == 0)
            #expect(pids.allSatisfy { !processAlive($0) }, "its runtimes are gone")
            // Before the fix the runner was shut down here, and this deploy failed with "flow back was stopped".
            _ = try await h.deployAndStart(#"{"id": "back", "modules": [\#(py)]}"#)
            try await h.inject("back", "a", "7")
            try await h.recorder.wait(for: "an output after the return") { $0.outputs("back").contains("7") }
        }
    }
}
