import NIOCore

/// How data batches travel between runners (docs/runner-protocol.md, "Data"). The streams above it
/// (`PeerRouter`: numbering, windows, end-to-end acks, refusals, hand-overs) do not know which one
/// carries them: today the dispatcher's WebSocket relay (`RelayTransport`), in tests an in-memory
/// hub (`InMemoryTransport`), next a broker (NATS JetStream).
///
/// Shaped for a broker:
/// - `publish` hands a batch for one receiver's end to the transport, which says when it has it
///   (a broker's publish acknowledgement; the relay: queued on its connection) or that it cannot
///   take it. Either way the batch's frames stay unacknowledged in their stream until the receiver's
///   own `ack` says they are done, so a batch the transport loses is sent again, never lost.
/// - `consume` delivers every batch addressed to one end, in the order published, on the
///   consumer's event loop; the delivery is acknowledged back to the transport once `receive`
///   returns (its frames are queued at their modules: the receiver's stream owns them from then on).
/// - Redelivery after a move is the streams' job: a module's new place has a new end, and what its
///   old place did not acknowledge is published again to it.
public protocol CrossRunnerTransport: Sendable {
    /// Publishes `batch` for `peer`. `done` (on any thread) gets nil once the transport has it,
    /// or why it could not take it.
    func publish(_ batch: ByteBuffer, to peer: StreamEnd, done: (@Sendable (String?) -> Void)?)
    /// Delivers the batches for `end` to `receive`, on `loop`, in order, from now on (replacing an
    /// earlier consumer of `end`).
    func consume(as end: StreamEnd, on loop: any EventLoop, _ receive: @escaping @Sendable (ByteBuffer) -> Void)
    /// Stops delivering to `end` (its connection ended; what comes for it meanwhile is not kept).
    func stopConsuming(_ end: StreamEnd)
}
