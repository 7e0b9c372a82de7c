import NIOConcurrencyHelpers
import NIOCore
import RunnerProtocol

/// The transport of a runner joined to a dispatcher (and of the embedded runner): batches go on the
/// runner's one connection to the dispatcher, which forwards each by its header's `to`
/// (`RunnerDirectory.forward`); the batches the connection reads come in through `arrived`.
/// The relay keeps nothing: the streams' end-to-end acks cover what a dropped connection loses.
public final class RelayTransport: CrossRunnerTransport {
    private let send: @Sendable (ByteBuffer) -> Void
    private let consumer = NIOLockedValueBox<(end: StreamEnd, loop: any EventLoop, receive: @Sendable (ByteBuffer) -> Void)?>(nil)

    /// - Parameter send: writes one binary message on the connection to the dispatcher.
    public init(send: @escaping @Sendable (ByteBuffer) -> Void) { self.send = send }

    public func publish(_ batch: ByteBuffer, to peer: StreamEnd, done: (@Sendable (String?) -> Void)?) {
        send(batch)
        done?(nil)
    }

    public func consume(as end: StreamEnd, on loop: any EventLoop, _ receive: @escaping @Sendable (ByteBuffer) -> Void) {
        consumer.withLockedValue { $0 = (end, loop, receive) }
    }

    public func stopConsuming(_ end: StreamEnd) {
        consumer.withLockedValue { if $0?.end == end { $0 = nil } }
    }

    /// A batch the connection read (for this runner's end; the router checks the header).
    /// Without a consumer (not welcomed yet, or the connection ended) it is dropped: its sender keeps its frames.
    public func arrived(_ batch: ByteBuffer) {
        guard let c = consumer.withLockedValue({ $0 }) else { return }
        c.loop.execute { c.receive(batch) }
    }
}
