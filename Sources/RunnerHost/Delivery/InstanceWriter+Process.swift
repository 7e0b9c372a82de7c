import FlowModel
import NIOCore
import RunnerProtocol

/// The life of the process a writer writes to: attached when it is ready,
/// detached when it ends, with what it leaves behind.
extension InstanceWriter {
    /// The process is ready: start writing to it, beginning with what waited.
    /// - Parameters:
    ///   - timeLimit: how long the process may send nothing while messages are in flight (nil: no limit).
    ///   - onSilence: told (once per silence) when it has been silent that long.
    func attach(_ channel: any Channel, timeLimit: TimeAmount? = nil, onSilence: (@Sendable (TimeAmount) -> Void)? = nil) {
        loop.assertInEventLoop()
        acked = 0
        lifeWrites = 0
        watch.arm(limit: timeLimit, onSilence: onSilence) { [unowned self] in
            self.blockedBy > 0 || self.suspended ? nil : !self.inFlight.isEmpty
        }
        open(channel)
        pump()
        flush()
    }

    /// The process is gone. Unacknowledged messages go back to the front of
    /// the queue, in order, to be delivered again one at a time (suspects).
    /// Acks are cumulative per batch, so after a death the host cannot tell
    /// which message killed the process. A message is the culprit (returned,
    /// to be recorded as its module's error, and not delivered again) only
    /// when it was alone in flight for the whole life of the process that
    /// died with it and it was a suspect already (in flight at an earlier
    /// death too), or when the host itself killed the process because it
    /// went silent past its time limit (`timedOut`) while that message was
    /// alone in flight. So a kill from outside, also one during careful
    /// redelivery, blames no one, unless it hits a suspect that was alone in
    /// a fresh process.
    func detach(timedOut: Bool = false) -> ProcessEnd {
        loop.assertInEventLoop()
        close()
        acked = 0
        life &+= 1
        watch.disarm()
        var culprit: PendingMessage?
        defer { culprit?.complete() }
        if inFlight.count == 1, timedOut || (lifeWrites == 1 && inFlight[inFlight.startIndex].suspect) {
            culprit = inFlight.popFirst()
            if culprit?.suspect == true { careful -= 1 }
        } else {
            for i in inFlight.indices where !inFlight[i].suspect {
                inFlight[i].suspect = true
                careful += 1
            }
        }
        lifeWrites = 0
        while let last = inFlight.popLast() { queued.prepend(last) }
        receiptsInFlight = 0
        return ProcessEnd(culprit: culprit.map { ProcessEnd.Culprit(slot: $0.slot, payload: $0.payload) }, committed: endLedger())
    }

    /// The oldest message in flight and how long the process has said nothing, while messages are in flight.
    func silence() -> (slot: Int, for: TimeAmount)? {
        loop.assertInEventLoop()
        guard channel != nil, blockedBy == 0, let first = inFlight.first else { return nil }
        return (first.slot, watch.silence)
    }

    /// Drops the queued messages from other runners (and what they caused here) that were not
    /// written yet: their senders kept them unacknowledged and send them again on a new connection.
    func dropUnstartedFromOtherRunners() {
        loop.assertInEventLoop()
        guard queued.contains(where: { $0.receipt != nil }) else { return }
        var keep = CircularBuffer<PendingMessage>()
        for m in queued where m.receipt == nil { keep.append(m) }
        careful = inFlight.reduce(0) { $0 + ($1.suspect ? 1 : 0) } + keep.reduce(0) { $0 + ($1.suspect ? 1 : 0) }
        queued = keep
        gates.update(queued: queued.count)
    }

    /// Everything not yet acknowledged, oldest first; empties the writer.
    func takeAll() -> [PendingMessage] {
        loop.assertInEventLoop()
        var all = Array(inFlight)
        all.append(contentsOf: queued)
        inFlight.removeAll()
        receiptsInFlight = 0
        queued.removeAll()
        careful = 0
        return all
    }

    /// How many messages wait for (or are in) the process for input `slot`, for status pages.
    func pendingCount(slot: Int) -> Int {
        loop.assertInEventLoop()
        return inFlight.reduce(0) { $0 + ($1.slot == slot ? 1 : 0) } + queued.reduce(0) { $0 + ($1.slot == slot ? 1 : 0) }
    }

    /// Lets the feeders read again and forgets them (the flow is rewired or gone).
    func resetCongestion() {
        loop.assertInEventLoop()
        gates.reset()
    }

    /// Drops the references to other writers and stops the time limit (the flow is gone).
    func forget() {
        loop.assertInEventLoop()
        watch.disarm()
        gates.reset()
    }
}

/// One message waiting for, or travelling to, a runtime instance: an input
/// slot and the payload bytes, never decoded. `suspect`: it was in flight
/// when a process died, so it is delivered again one at a time.
struct PendingMessage {
    var slot: Int
    var payload: ByteBuffer
    var suspect = false
    /// Set for a message from another runner: told when the message is done, for the stream's `ack`.
    var receipt: InboundStream.Receipt? = nil

    /// Tells the stream it came from that it is done (or taken over by this runner's own bookkeeping).
    @inline(__always)
    mutating func complete() {
        if let receipt {
            receipt.complete()
            self.receipt = nil
        }
    }
}

/// What a process that ended leaves behind (`InstanceWriter.detach`).
struct ProcessEnd: Sendable {
    struct Culprit: Sendable {
        var slot: Int
        var payload: ByteBuffer
    }
    /// The message to record as its module's error instead of delivering it again (done: its receipt completed).
    var culprit: Culprit?
    /// What the process committed: counters and states after exactly the acknowledged messages.
    var committed: [ModuleID: RuntimeMessage.ModuleStats]
}
