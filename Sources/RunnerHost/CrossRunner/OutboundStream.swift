import FlowModel
import NIOCore
import RunnerProtocol

/// A frame on its way to a module on another runner.
struct OutboundFrame {
    var flow: FlowID
    var target: Endpoint
    var gen: Int
    var payload: ByteBuffer
    var seq = 0
}

/// The frames this runner sends to one peer connection: numbered, kept until
/// the peer acknowledges them as done; at most `window` of them on their way
/// (sent, not yet received there: the peer's `recv`); the rest wait here, in
/// order. The window follows arrival, not `ack`, so that a runner may hold
/// its acks back while its own outputs wait (see `PeerRouter.flush`) without
/// ever stopping a window: arrival does not wait for anything.
///
/// Confined to the runner's event loop: reached only through its `PeerRouter` (and the links
/// on that loop), whose every entry asserts the loop in debug builds.
final class OutboundStream {
    let peer: StreamEnd
    let window: Int
    private var nextSeq = 1
    /// Sent, not yet acknowledged as done, oldest first.
    private(set) var unacked = CircularBuffer<OutboundFrame>()
    /// Waiting for room in the window, oldest first.
    private(set) var waiting = CircularBuffer<OutboundFrame>()
    /// Numbered and not yet written into a batch.
    private var unsent: [OutboundFrame] = []
    /// The peer's cumulative `recv`, for status.
    private(set) var peerReceived = 0
    /// The links held because too much waits here.
    let gate = PeerGate()

    init(peer: StreamEnd, window: Int) {
        self.peer = peer
        self.window = window
    }

    var queuedCount: Int { unacked.count + waiting.count }

    /// Frames sent that the peer has not said it received.
    var onTheirWay: Int { nextSeq - 1 - peerReceived }

    /// Returns the frame's number when it went into the window at once (nil: it waits).
    @discardableResult
    func enqueue(_ frame: OutboundFrame) -> Int? {
        if waiting.isEmpty, onTheirWay < window {
            return number(frame)
        } else {
            waiting.append(frame)
            return nil
        }
    }

    @discardableResult
    private func number(_ frame: OutboundFrame) -> Int {
        var f = frame
        f.seq = nextSeq
        nextSeq += 1
        unacked.append(f)
        unsent.append(f)
        return f.seq
    }

    /// The peer says frames up to `ack` are done and up to `recv` arrived: frees them and fills the window again.
    /// Returns whether the window moved.
    @discardableResult
    func acknowledged(recv: Int, ack: Int) -> Bool {
        peerReceived = max(peerReceived, recv)
        var moved = false
        while let first = unacked.first, first.seq <= ack {
            unacked.removeFirst()
            moved = true
        }
        while onTheirWay < window, let next = waiting.popFirst() { number(next) }
        return moved
    }

    /// The frames to write into the next batch (numbered, in order); empties the list.
    func takeUnsent() -> [OutboundFrame] {
        defer { unsent.removeAll(keepingCapacity: true) }
        return unsent
    }

    /// The sequence number the next frame will get (a bare ack's `firstSeq`).
    var upcomingSeq: Int { unsent.first?.seq ?? nextSeq }

    /// The peer refused frame `seq` (its generation is stale there): takes it
    /// back with every later frame of this stream for the same module and
    /// generation (the peer refuses those too), oldest first. Empty when `seq`
    /// is no longer kept (taken back already, or moved on with its module).
    func takeRefused(_ seq: Int) -> [OutboundFrame] {
        guard let first = unacked.first(where: { $0.seq == seq }) else { return [] }
        return takeFrames { f in
            f.flow == first.flow && f.target.module == first.target.module && f.gen == first.gen && (f.seq >= seq || f.seq == 0)
        }
    }

    /// Whether any frame for `module` of `flow` is kept here (sent and not acknowledged, or waiting).
    func holds(flow: FlowID, module: ModuleID) -> Bool {
        unacked.contains { $0.flow == flow && $0.target.module == module }
            || waiting.contains { $0.flow == flow && $0.target.module == module }
    }

    /// Everything not yet acknowledged, oldest first, for sending elsewhere; `keep` says which stay.
    func takeFrames(where take: (OutboundFrame) -> Bool) -> [OutboundFrame] {
        var taken: [OutboundFrame] = []
        var keptUnacked = CircularBuffer<OutboundFrame>()
        for f in unacked { if take(f) { taken.append(f) } else { keptUnacked.append(f) } }
        var keptWaiting = CircularBuffer<OutboundFrame>()
        for f in waiting { if take(f) { taken.append(f) } else { keptWaiting.append(f) } }
        unsent.removeAll { take($0) }
        unacked = keptUnacked
        waiting = keptWaiting
        return taken
    }
}
