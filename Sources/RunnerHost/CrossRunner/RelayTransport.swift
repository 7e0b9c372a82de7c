import NIOConcurrencyHelpers
import NIOCore
import RunnerProtocol

/// The transport of a runner joined to a dispatcher (and of the embedded runner): batches go on the
/// runner's one connection to the dispatcher, which forwards each by its header's `to`
/// (`RunnerDirectory.forward`); the batches the connection reads come in through `arrived`.
/// The relay keeps nothing: the streams' end-to-end acks cover what a dropped connection loses.
public final class RelayTransport: CrossRunnerTransport {
    private struct State {
        var consumer: (end: StreamEnd, loop: any EventLoop, receive: @Sendable (ByteBuffer) -> Void)?
        /// What arrived before the consumer was set (the connection reads from the welcome on; the runner
        /// attaches its data path a moment later), delivered in order once it is.
        var early: [ByteBuffer] = []
        var earlyBytes = 0
        var stopped = false
    }
    private let send: @Sendable (ByteBuffer) -> Void
    private let state = NIOLockedValueBox(State())
    /// Bytes kept for a consumer not set yet; past it the connection's batches are dropped (their
    /// senders keep the frames: the next connection or route change sends them again).
    let maxEarlyBytes: Int

    /// - Parameter send: writes one binary message on the connection to the dispatcher.
    public init(maxEarlyBytes: Int = 64 * 1024 * 1024, send: @escaping @Sendable (ByteBuffer) -> Void) {
        self.maxEarlyBytes = maxEarlyBytes
        self.send = send
    }

    public func publish(_ batch: ByteBuffer, to peer: StreamEnd, done: (@Sendable (String?) -> Void)?) {
        send(batch)
        done?(nil)
    }

    public func consume(as end: StreamEnd, on loop: any EventLoop, _ receive: @escaping @Sendable (ByteBuffer) -> Void) {
        state.withLockedValue { s in
            s.consumer = (end, loop, receive)
            s.stopped = false
            // Queued under the lock, so before any batch that arrives from now on; run after whatever
            // the caller does on the loop now (it sets its router up).
            let early = s.early
            s.early = []
            s.earlyBytes = 0
            if !early.isEmpty { loop.execute { for batch in early { receive(batch) } } }
        }
    }

    public func stopConsuming(_ end: StreamEnd) {
        state.withLockedValue { s in
            guard s.consumer?.end == end else { return }
            s.consumer = nil
            s.stopped = true
        }
    }

    /// A batch the connection read (for this runner's end; the router checks the header). Before the
    /// consumer is set it is kept (bounded), after `stopConsuming` dropped: its sender keeps its frames.
    public func arrived(_ batch: ByteBuffer) {
        let consumer: (end: StreamEnd, loop: any EventLoop, receive: @Sendable (ByteBuffer) -> Void)? = state.withLockedValue { s in
            if let c = s.consumer { return c }
            if !s.stopped, s.earlyBytes + batch.readableBytes <= maxEarlyBytes {
                s.early.append(batch)
                s.earlyBytes += batch.readableBytes
            }
            return nil
        }
        guard let consumer else { return }
        consumer.loop.execute { consumer.receive(batch) }
    }
}
