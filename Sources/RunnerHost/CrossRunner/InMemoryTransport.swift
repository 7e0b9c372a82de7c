import NIOConcurrencyHelpers
import NIOCore
import RunnerProtocol

/// A transport inside one process, shared by several runners (`RunnerHost`s) as a broker would be:
/// a batch published for an end is delivered to that end's consumer on its loop, in order; one for
/// an end nobody consumes is not taken (`done` says so, and it is counted). Used by tests, which run
/// the cross-runner path over it without a dispatcher (`CrossRunnerTransportTests`).
public final class InMemoryTransport: CrossRunnerTransport {
    private struct Consumer {
        let loop: any EventLoop
        let receive: @Sendable (ByteBuffer) -> Void
    }
    private struct State {
        var consumers: [StreamEnd: Consumer] = [:]
        var published = 0
        var acknowledged = 0
        var refused = 0
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    public func publish(_ batch: ByteBuffer, to peer: StreamEnd, done: (@Sendable (String?) -> Void)?) {
        let consumer: Consumer? = state.withLockedValue { s in
            guard let c = s.consumers[peer] else {
                s.refused += 1
                return nil
            }
            s.published += 1
            return c
        }
        guard let consumer else {
            done?("no runner consumes \(peer)")
            return
        }
        done?(nil)
        let state = self.state
        consumer.loop.execute {
            consumer.receive(batch)
            state.withLockedValue { $0.acknowledged += 1 }
        }
    }

    public func consume(as end: StreamEnd, on loop: any EventLoop, _ receive: @escaping @Sendable (ByteBuffer) -> Void) {
        state.withLockedValue { $0.consumers[end] = Consumer(loop: loop, receive: receive) }
    }

    public func stopConsuming(_ end: StreamEnd) {
        _ = state.withLockedValue { $0.consumers.removeValue(forKey: end) }
    }

    /// Batches taken, batches whose delivery was acknowledged (`receive` returned), batches not taken.
    public var counts: (published: Int, acknowledged: Int, refused: Int) {
        state.withLockedValue { ($0.published, $0.acknowledged, $0.refused) }
    }
}
