import FlowModel
import Logging
import NIOCore
import RunnerProtocol

/// Batches for this runner: their frames checked and queued at their modules, their acks and
/// refusals applied to our streams; hand-overs settled, refused routes retried.
extension PeerRouter {

    /// A data batch for this runner (from its transport). Its frames are queued on the links
    /// (by `enqueue`, so the debugger sees them); its acks free our frames.
    /// Returns an error text for a batch that cannot be read or is not for us.
    func receive(_ message: ByteBuffer) -> String? {
        assertConfined()
        let batch: DataBatch
        do { batch = try DataBatchCodec.decode(message, maxFrameBytes: maxFrameBytes) } catch {
            return "a data batch could not be read: \(error)"
        }
        guard let me, batch.header.to == me else {
            return "a data batch for \(batch.header.to) reached \(me.map(\.description) ?? "a runner not yet welcomed")"
        }
        let peer = batch.header.from
        if let out = outbound[peer] {
            // Refusals before the ack: the ack may cover refused frames, which must not be freed as done.
            for seq in batch.header.refused { takeBack(out.takeRefused(seq), refusedBy: peer) }
            out.acknowledged(recv: batch.header.recv, ack: batch.header.ack)
            if out.queuedCount - window <= highWater / 2 { out.gate.openAll() }
            dirty.insert(peer)
            settle(peer: peer)
        }
        guard !batch.frames.isEmpty else { return nil }
        let stream = inbound[peer] ?? {
            let s = InboundStream(peer: peer)
            inbound[peer] = s
            return s
        }()
        for (i, frame) in batch.frames.enumerated() {
            let seq = batch.header.firstSeq + i
            guard stream.arrived(seq) else { continue }
            let endpoint = Endpoint(module: frame.module, port: frame.port)
            guard let target = inputs[frame.flow]?[endpoint], gens[frame.flow]?[frame.module] == frame.gen else {
                staleFrames += 1
                staleByFlow[frame.flow, default: 0] += 1
                logger.debug("refused a frame for \(frame.flow)/\(endpoint) at generation \(frame.gen): the module does not run here at that generation; its sender sends it to the module's place")
                stream.refuse(seq)
                continue
            }
            target.link.enqueue(slot: target.slot, payload: frame.payload, receipt: InboundStream.Receipt(stream: stream, seq: seq))
        }
        dirty.insert(peer)
        return nil
    }

    /// Modules handed over whose old place `peer` no longer holds frames for them: what waits for them goes.
    func settle(peer: StreamEnd) {
        guard !settling.isEmpty else { return }
        var released = false
        for (key, entry) in settling where entry.peers.contains(peer) {
            let still = entry.peers.filter { outbound[$0]?.holds(flow: key.flow, module: key.module) ?? false }
            if still.isEmpty {
                settling[key] = nil
                released = true
            } else if still.count != entry.peers.count {
                settling[key] = (still, entry.since)
            }
        }
        if released { releaseParked() }
    }

    /// Refused routes past their retry time, and hand-overs past `settleLimit` (their old place
    /// is silent: what it still holds is sent again, counted as possible duplicates).
    func expireWaits() {
        guard !refusedRoutes.isEmpty || !settling.isEmpty else { return }
        let now = NIODeadline.now()
        var release = refusedRoutes.contains { now - $0.value.at >= Self.refusalRetry }
        for (key, entry) in settling where now - entry.since >= Self.settleLimit {
            settling[key] = nil
            for peer in entry.peers.sorted(by: { $0.description < $1.description }) {
                for frame in outbound[peer]?.takeFrames(where: { $0.flow == key.flow && $0.target.module == key.module }) ?? [] {
                    resend(frame)
                }
            }
            logger.warning("\(key)'s old place did not settle what it had within \(Self.settleLimit): sent again to its new place")
            release = true
        }
        if release { releaseParked() }
    }

    /// Called a few times a second: retries refused routes and ends hand-overs past their limit
    /// even when no traffic flushes (see `expireWaits`).
    func tick() {
        assertConfined()
        if !refusedRoutes.isEmpty || !settling.isEmpty { flush() }
    }
}
