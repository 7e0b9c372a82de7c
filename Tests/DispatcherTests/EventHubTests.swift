import FlowModel
import Foundation
import RunnerHost
import Testing
@testable import Dispatcher

/// A subscriber that falls behind (docs/architecture.md, "Back pressure",
/// the events row): it loses the oldest events, keeps the newest, and is told
/// with a `dropped` event; the publisher never waits for it.
@Suite(.timeLimit(.minutes(1))) struct EventHubTests {
    static func output(_ n: Int) -> RunnerEvent {
        .output(flow: FlowID("f"), module: ModuleID("m"), port: PortName("out"), payload: "\(n)")
    }

    /// Reads `count` events (already published: nothing waits; the suite's time limit guards a regression).
    static func read(_ iterator: inout AsyncStream<String>.Iterator, count: Int) async -> [JSONValue] {
        var out: [JSONValue] = []
        while out.count < count, let text = await iterator.next() {
            out.append(try! JSONValue(parsing: Data(text.utf8)))
        }
        return out
    }

    @Test func aSubscriberThatDoesNotReadLosesTheOldestAndIsToldHowMany() async throws {
        let hub = EventHub()
        let (id, stream) = hub.subscribe(.init(flow: FlowID("f"), kinds: [.output]))
        defer { hub.cancel(id) }
        let total = EventHub.bufferSize + 2_000
        for n in 0..<total { hub.publish(Self.output(n)) }  // returns although nobody reads

        var iterator = stream.makeAsyncIterator()
        let buffered = await Self.read(&iterator, count: EventHub.bufferSize)
        let outputs = buffered.compactMap { $0["payload"]?.intValue }
        let notices = buffered.filter { $0["type"] == "dropped" }
        #expect(buffered.count == EventHub.bufferSize, "the buffer holds its bound, no more")
        #expect(outputs.last == total - 1, "the newest event is kept")
        #expect(outputs.first.map { $0 > 0 } == true, "the oldest are dropped")
        #expect(outputs == outputs.sorted(), "what is kept is in order")
        #expect(Set(outputs).count == outputs.count)
        #expect(!notices.isEmpty, "the subscriber is told that events were dropped")

        // Caught up: the next event comes after a notice whose count is at
        // least how many were dropped since the last notice that got through.
        hub.publish(Self.output(total))
        let next = await Self.read(&iterator, count: 2)
        #expect(next.first?["type"] == "dropped")
        let lost = total - outputs.count
        let counted = next.first?["count"]?.intValue ?? 0
        #expect(counted > 0 && counted <= lost, "a lower bound of the \(lost) lost, got \(counted)")
        #expect(next.last?["payload"] == .int(total))
    }

    @Test func aSubscriberThatKeepsUpLosesNothingAndGetsNoNotice() async throws {
        let hub = EventHub()
        let (id, stream) = hub.subscribe(.init(flow: FlowID("f"), kinds: [.output]))
        defer { hub.cancel(id) }
        var iterator = stream.makeAsyncIterator()
        for n in 0..<(EventHub.bufferSize * 2) {
            hub.publish(Self.output(n))
            let got = await iterator.next().map { try! JSONValue(parsing: Data($0.utf8)) }
            if got?["payload"] != .int(n) { Issue.record("event \(n): got \(String(describing: got))"); return }
        }
    }
}
