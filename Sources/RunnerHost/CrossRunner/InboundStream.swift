import FlowModel

/// What this runner has received from one peer connection and what of it is
/// done (docs/runner-protocol.md, "Acks, windows, back pressure"): `received`
/// is the `recv` and `done` the `ack` this runner puts on its batches back.
///
/// Confined to the runner's event loop.
final class InboundStream: @unchecked Sendable {
    let peer: StreamEnd
    /// The highest `seq` that arrived.
    private(set) var received = 0
    /// Every frame up to this one is done.
    private(set) var done = 0
    /// Done frames above `done` (finished out of order: they went to different instances).
    private var doneAbove: Set<Int> = []
    /// Something moved that the peer has not been told.
    var owesAck = false
    /// The `ack` last sent: it may lag `done` while outputs wait to go out (see `PeerRouter.flush`).
    var advertised = 0

    init(peer: StreamEnd) { self.peer = peer }

    /// Numbers a frame that arrived; false for one that arrived before (a resend after a reconnect).
    func arrived(_ seq: Int) -> Bool {
        guard seq > received else { return false }
        // A gap cannot happen on one WebSocket; if it did, the missing frames count as done so the stream goes on.
        for missing in (received + 1)..<seq { complete(missing) }
        received = seq
        owesAck = true
        return true
    }

    /// The frame `seq` is done (processed, refused as stale, or taken over by the debugger or a swap).
    func complete(_ seq: Int) {
        guard seq > done else { return }
        if seq == done + 1 {
            done = seq
            while doneAbove.remove(done + 1) != nil { done += 1 }
        } else {
            doneAbove.insert(seq)
        }
        owesAck = true
    }

    /// A handle a queued message carries so that its completion reaches this stream.
    struct Receipt {
        let stream: InboundStream
        let seq: Int
        func complete() { stream.complete(seq) }
    }
}
