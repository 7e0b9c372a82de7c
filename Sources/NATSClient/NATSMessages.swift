import NIOConcurrencyHelpers

/// How much a subscription may hold unread before its connection stops
/// reading from the socket (slow-consumer flow control): past either limit
/// the client stops reading; below half of both it reads again. Nothing is
/// dropped: a subscriber that does not read holds up its connection (and, if it
/// never reads, the server ends the connection as a slow consumer after its
/// write deadline; the client then reconnects).
public struct NATSPendingLimits: Sendable, Equatable {
    public var messages: Int
    public var bytes: Int

    public init(messages: Int = 65_536, bytes: Int = 64 << 20) {
        self.messages = messages
        self.bytes = bytes
    }
}

/// Counts what one subscription holds unread, and says when it crosses its limits.
final class PendingGate: Sendable {
    private struct State {
        var messages = 0
        var bytes = 0
        var full = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = NIOLockedValueBox(State())
    let limits: NATSPendingLimits
    /// Told when the gate opens again (from the reading task).
    private let onOpen: @Sendable () -> Void

    init(limits: NATSPendingLimits, onOpen: @escaping @Sendable () -> Void = {}) {
        self.limits = limits
        self.onOpen = onOpen
    }

    /// One message more is held; true when that fills the gate (it was not full before).
    func produced(bytes: Int) -> Bool {
        state.withLockedValue { s in
            s.messages += 1
            s.bytes += bytes
            guard !s.full, s.messages > limits.messages || s.bytes > limits.bytes else { return false }
            s.full = true
            return true
        }
    }

    /// One message was read; opens the gate below half of both limits.
    func consumed(bytes: Int) {
        let (opened, waiters) = state.withLockedValue { s -> (Bool, [CheckedContinuation<Void, Never>]) in
            s.messages -= 1
            s.bytes -= bytes
            guard s.full, s.messages <= limits.messages / 2, s.bytes <= limits.bytes / 2 else { return (false, []) }
            s.full = false
            defer { s.waiters = [] }
            return (true, s.waiters)
        }
        guard opened else { return }
        for w in waiters { w.resume() }
        onOpen()
    }

    /// Waits while the gate is full (a forwarding task holds off).
    func waitWhileFull() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLockedValue { s -> Bool in
                guard s.full else { return true }
                s.waiters.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    /// The reader is gone: nothing it held counts any more.
    func drop() {
        let (wasFull, waiters) = state.withLockedValue { s -> (Bool, [CheckedContinuation<Void, Never>]) in
            let was = s.full, waiters = s.waiters
            s = State()
            return (was, waiters)
        }
        for w in waiters { w.resume() }
        if wasFull { onOpen() }
    }

    var pending: (messages: Int, bytes: Int) { state.withLockedValue { ($0.messages, $0.bytes) } }
}

/// The messages of a subscription, in order; reading them is what lets its connection read on.
public struct NATSMessages: AsyncSequence, Sendable {
    public typealias Element = NATSMessage
    let stream: AsyncStream<NATSMessage>
    let gate: PendingGate

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<NATSMessage>.AsyncIterator
        let gate: PendingGate

        public mutating func next() async -> NATSMessage? {
            let message = await base.next()
            if let message { gate.consumed(bytes: message.payload.readableBytes) }
            return message
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream.makeAsyncIterator(), gate: gate) }
}
