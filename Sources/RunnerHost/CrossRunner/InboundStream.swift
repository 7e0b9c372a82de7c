import FlowModel
import RunnerProtocol

/// What this runner has received from one peer connection and what of it is
/// done (docs/runner-protocol.md, "Acks, windows, back pressure"): `received`
/// is the `recv` and `done` the `ack` this runner puts on its batches back.
///
/// Confined to the runner's event loop: reached only through its `PeerRouter` (and the links
/// on that loop), whose every entry asserts the loop in debug builds.
final class InboundStream {
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
    /// Frames refused (stale generation) and not yet listed in a header: not done until they are, so
    /// that no `ack` covers a refused frame before its sender was told to take it back.
    private(set) var pendingRefusals: [Int] = []

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

    /// The frame `seq` was refused: its sender is told in the next header, and only then is it done.
    func refuse(_ seq: Int) {
        pendingRefusals.append(seq)
        owesAck = true
    }

    /// Up to `max` refusals to list in a header, oldest first; they are done from now on.
    func takeRefusals(max: Int) -> [Int] {
        guard !pendingRefusals.isEmpty else { return [] }
        let taken = Array(pendingRefusals.prefix(max))
        pendingRefusals.removeFirst(taken.count)
        for seq in taken { complete(seq) }
        return taken
    }

    /// A handle a queued message carries so that its completion reaches this stream.
    /// Messages it causes on this runner's other runtimes share it (`retain`): the frame
    /// is done once every holder completed, so its sender keeps it until then and a runner
    /// killed meanwhile loses none of that work (docs/runner-protocol.md, "Acks").
    /// Confined like its stream: held by messages on the same loop's links and debugger.
    final class Receipt {
        let stream: InboundStream
        let seq: Int
        private var holders = 1

        init(stream: InboundStream, seq: Int) {
            self.stream = stream
            self.seq = seq
        }

        /// One more message must be done before the frame is.
        func retain() { holders += 1 }

        /// One holder is done.
        func complete() {
            holders -= 1
            if holders == 0 { stream.complete(seq) }
        }
    }
}
