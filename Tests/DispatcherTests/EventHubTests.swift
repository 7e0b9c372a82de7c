import FlowModel
import Foundation
import RunnerHost
import RunnerProtocol
import Testing
@testable import Dispatcher

/// A subscriber that falls behind (docs/architecture.md, "Back pressure",
/// the events row), through the hub as the API uses it: it loses the oldest
/// events, keeps the newest in order, is told exactly how many it lost with a
/// `dropped` event, and the publisher never waits for it. (EventQueueTests
/// checks the queue's byte bound on its own.)
@Suite(.timeLimit(.minutes(1))) struct EventHubTests {
    static func output(_ n: Int, flow: String = "f") -> RunnerEvent {
        .output(flow: FlowID(flow), module: ModuleID("m"), port: PortName("out"), payload: "\(n)")
    }

    /// Reads `count` events (already published: nothing waits; the suite's time limit guards a regression).
    static func read(_ queue: EventQueue, count: Int) async -> [JSONValue] {
        var out: [JSONValue] = []
        while out.count < count, let text = await queue.next() {
            out.append(try! JSONValue(parsing: Data(text.utf8)))
        }
        return out
    }

    @Test func aSubscriberThatDoesNotReadLosesTheOldestAndIsToldHowMany() async throws {
        let bound = 1_000
        let hub = EventHub(limits: .init(maxCount: bound))
        let (id, queue) = hub.subscribe(.init(flow: FlowID("f"), kinds: [.output]))
        defer { hub.cancel(id) }
        let total = bound + 250
        for n in 0..<total {
            hub.publish(Self.output(n))              // returns although nobody reads
            hub.publish(Self.output(n, flow: "other"))  // not this subscriber's: takes no room
        }
        let got = await Self.read(queue, count: bound + 1)
        #expect(got.first == ["type": "dropped", "count": .int(total - bound), "flowId": "f"], "told exactly how many were lost, and of which flow")
        #expect(got.dropFirst().compactMap { $0["payload"]?.intValue } == Array((total - bound)..<total),
                "the newest \(bound) kept, in order")
        // Caught up: the next event comes as it is, without a notice.
        hub.publish(Self.output(total))
        #expect(await Self.read(queue, count: 1) == [["type": "output", "flowId": "f", "module": "m", "port": "out", "payload": .int(total)]])
    }

    @Test func aSubscriberThatKeepsUpLosesNothingAndGetsNoNotice() async throws {
        let hub = EventHub(limits: .init(maxCount: 100))
        let (id, queue) = hub.subscribe(.init(flow: FlowID("f"), kinds: [.output]))
        defer { hub.cancel(id) }
        for n in 0..<1_000 {
            hub.publish(Self.output(n))
            let got = await Self.read(queue, count: 1)
            if got.first?["payload"] != .int(n) { Issue.record("event \(n): got \(got)"); return }
        }
    }
}
