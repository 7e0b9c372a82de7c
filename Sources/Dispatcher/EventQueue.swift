import FlowModel
import NIOConcurrencyHelpers
import NIOCore
import CSpawn

/// One subscriber's buffer of event texts, bounded in count *and* bytes: when
/// it is full the oldest events are dropped, and the reader is told how many
/// with a `{"type":"dropped","count":N}` event before the next one (with
/// `"flowId"` when the subscriber follows one flow). The
/// newest event is always kept, so the bytes held are at most `maxBytes`
/// plus one event (≤ the frame limit).
///
/// Many writers (`push`, from the runner's threads), one reader (`next`).
public final class EventQueue: Sendable {
    public struct Limits: Sendable {
        public var maxCount = 10_000
        public var maxBytes = 32 << 20
        public init(maxCount: Int = 10_000, maxBytes: Int = 32 << 20) { self.maxCount = maxCount; self.maxBytes = maxBytes }
    }

    private struct State {
        var items = CircularBuffer<String>()
        var bytes = 0
        var dropped = 0
        var finished = false
        var waiter: CheckedContinuation<String?, Never>?
    }

    let limits: Limits
    /// The flow the subscriber follows, if one: its `dropped` notices name it (`flowId`).
    let flow: String?
    private let state = NIOLockedValueBox(State())

    init(limits: Limits, flow: String? = nil) { self.limits = limits; self.flow = flow }

    /// Adds an event; drops the oldest while over a bound. Never waits.
    func push(_ text: String) {
        let waiter: CheckedContinuation<String?, Never>? = state.withLockedValue { s in
            guard !s.finished else { return nil }
            if let w = s.waiter, s.items.isEmpty, s.dropped == 0 {
                s.waiter = nil
                return w
            }
            s.items.append(text)
            s.bytes += text.utf8.count
            while s.items.count > 1, s.items.count > limits.maxCount || s.bytes > limits.maxBytes {
                s.bytes -= s.items.removeFirst().utf8.count
                s.dropped += 1
            }
            return nil
        }
        waiter?.resume(returning: text)
    }

    /// The next event (or a `dropped` notice); nil once finished or when the reading task is cancelled.
    func next() async -> String? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<String?, Never>) in
                let ready: String?? = state.withLockedValue { s in
                    if s.dropped > 0 {
                        defer { s.dropped = 0 }
                        let about = flow.map { ",\"flowId\":" + JSONValue.string($0).jsonText } ?? ""
                        return .some("{\"type\":\"dropped\",\"count\":\(s.dropped)\(about)}")
                    }
                    if let first = s.items.popFirst() {
                        s.bytes -= first.utf8.count
                        return .some(first)
                    }
                    if s.finished || Task.isCancelled { return .some(nil) }
                    s.waiter = c
                    return nil
                }
                if let ready { c.resume(returning: ready) }
            }
        } onCancel: {
            finish()
        }
    }

    /// Ends the queue: the reader gets nil; what was held is freed (and, when
    /// it was much, handed back to the system).
    func finish() {
        let (waiter, heldBytes) = state.withLockedValue { s -> (CheckedContinuation<String?, Never>?, Int) in
            s.finished = true
            let w = s.waiter, held = s.bytes
            s.waiter = nil
            s.items = CircularBuffer()
            s.bytes = 0
            return (w, held)
        }
        waiter?.resume(returning: nil)
        if heldBytes > 8 << 20 { _ = polyflow_malloc_trim() }
    }

    var bufferedBytes: Int { state.withLockedValue { $0.bytes } }
}

extension EventQueue: AsyncSequence {
    public typealias Element = String
    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: EventQueue
        public mutating func next() async -> String? { await queue.next() }
    }
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(queue: self) }
}
