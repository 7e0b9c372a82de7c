import FlowModel
import Logging
import NIOCore
import RunnerProtocol

/// Writing batches: one per peer that has frames or owes an ack, through the transport.
extension PeerRouter {

    /// Writes one batch (or more, past the target size) per peer that has frames or owes an ack.
    ///
    /// The `ack` never runs ahead of the outputs: a frame is done once its
    /// runtime acknowledged it, and what the handler sent to other runners was
    /// read before that ack, so it is in this flush or an earlier one, unless
    /// it waits for room in a full window. While any output waits, the acks
    /// this runner sends stay where they were, so a runner that dies then has
    /// its inputs delivered again elsewhere instead of losing those outputs.
    /// This cannot stall: windows follow arrival (`recv`, always sent), not acks.
    func flush() {
        assertConfined()
        expireWaits()
        let outputsWait = outbound.values.contains { !$0.waiting.isEmpty }
        for (peer, s) in inbound where s.owesAck || (!outputsWait && s.done > s.advertised) { dirty.insert(peer) }
        guard !dirty.isEmpty, let me, let transport else { return }
        let peers = dirty
        dirty.removeAll(keepingCapacity: true)
        for peer in peers {
            let out = outbound[peer]
            let inb = inbound[peer]
            let frames = out?.takeUnsent() ?? []
            let owes = (inb?.owesAck ?? false) || (!outputsWait && (inb.map { $0.done > $0.advertised } ?? false))
            guard !frames.isEmpty || owes else { continue }
            inb?.owesAck = false
            let recv = inb?.received ?? 0
            var index = 0
            repeat {
                // Refusals listed in this header are done from now on, so the ack may cover them.
                let refused = inb?.takeRefusals(max: DataBatchCodec.maxRefusals) ?? []
                let ack = outputsWait ? (inb?.advertised ?? 0) : (inb?.done ?? 0)
                inb?.advertised = ack
                var buffer = ByteBufferAllocator().buffer(capacity: 256)
                let first = index < frames.count ? frames[index].seq : (out?.upcomingSeq ?? 1)
                DataBatchCodec.writeHeader(DataBatchHeader(from: me, to: peer, firstSeq: first, recv: recv, ack: ack, refused: refused),
                                           into: &buffer)
                while index < frames.count {
                    let f = frames[index]
                    DataBatchCodec.writeFrame(gen: f.gen, flow: f.flow, module: f.target.module, port: f.target.port, payload: f.payload, into: &buffer)
                    index += 1
                    if buffer.readableBytes >= RunnerProtocol.batchTargetBytes { break }
                }
                // Whether the transport took it or not, its frames stay in the stream until acknowledged.
                transport.publish(buffer, to: peer, done: nil)
            } while index < frames.count || !(inb?.pendingRefusals.isEmpty ?? true)
        }
    }
}
