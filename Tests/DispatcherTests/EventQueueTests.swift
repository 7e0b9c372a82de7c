import RunnerProtocol
import Testing
@testable import Dispatcher

/// A subscriber's buffer: bounded in count and bytes, oldest dropped, the reader told.
@Suite(.timeLimit(.minutes(1))) struct EventQueueTests {
    @Test func dropsTheOldestPastTheByteBoundAndSaysHowMany() async {
        let q = EventQueue(limits: .init(maxCount: 1_000, maxBytes: 10_000))
        let event = String(repeating: "e", count: 1_000)
        for i in 0..<50 { q.push("\(i)" + event) }
        #expect(q.bufferedBytes <= 10_000 + 1_002)
        #expect(await q.next() == #"{"type":"dropped","count":41}"#)
        #expect(await q.next()?.hasPrefix("41e") == true, "the newest events stay")
    }

    @Test func dropsPastTheCountBound() async {
        let q = EventQueue(limits: .init(maxCount: 3, maxBytes: 1 << 20))
        for i in 0..<5 { q.push("\(i)") }
        #expect(await q.next() == #"{"type":"dropped","count":2}"#)
        #expect(await q.next() == "2")
        #expect(await q.next() == "3")
        #expect(await q.next() == "4")
    }

    @Test func keepsOneEventBiggerThanTheBound() async {
        let q = EventQueue(limits: .init(maxCount: 10, maxBytes: 10))
        q.push(String(repeating: "x", count: 100))
        #expect(await q.next()?.count == 100)
    }

    @Test func aWaitingReaderGetsTheNextEventAndFinishEndsIt() async {
        let q = EventQueue(limits: .init())
        async let first = q.next()
        // The reader may or may not be waiting yet: either way it gets the event.
        q.push("a")
        #expect(await first == "a")
        q.push("b")
        q.finish()
        #expect(await q.next() == nil, "finish drops what was held")
        q.push("c")
        #expect(await q.next() == nil, "nothing after finish")
        #expect(q.bufferedBytes == 0)
    }

    @Test func cancellingTheReaderEndsTheQueue() async {
        let q = EventQueue(limits: .init())
        let reader = Task { await q.next() }
        reader.cancel()
        #expect(await reader.value == nil)
    }
}
