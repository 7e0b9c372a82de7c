import FlowModel
import NIOConcurrencyHelpers
import NIOCore
import RunnerProtocol
import Testing
@testable import RunnerHost

/// The bookkeeping of cross-runner streams (docs/runner-protocol.md, "Acks, windows, back pressure").
@Suite struct CrossRunnerStreamTests {
    let peer = StreamEnd(runner: RunnerID("gpu-1"), session: 2)

    func frame(_ i: Int, module: String = "m") -> OutboundFrame {
        OutboundFrame(flow: FlowID("f"), target: Endpoint(module: ModuleID(module), port: PortName("in")), gen: 1,
                      payload: ByteBuffer(string: "{\"i\":\(i)}"))
    }

    @Test func aStreamNumbersFramesKeepsThemUntilDoneAndHoldsThePastTheWindow() {
        let s = OutboundStream(peer: peer, window: 3)
        for i in 0..<5 { s.enqueue(frame(i)) }
        #expect(s.takeUnsent().map(\.seq) == [1, 2, 3])
        #expect(s.waiting.count == 2)
        // Arrival moves the window; a frame is kept until it is done.
        s.acknowledged(recv: 2, ack: 0)
        #expect(s.unacked.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(s.takeUnsent().map(\.seq) == [4, 5])
        #expect(s.waiting.isEmpty)
        s.acknowledged(recv: 5, ack: 2)
        #expect(s.unacked.map(\.seq) == [3, 4, 5])
        #expect(s.upcomingSeq == 6)
    }

    @Test func framesForAModuleThatMovesAreTakenOutInOrderAndTheRestStays() {
        let s = OutboundStream(peer: peer, window: 2)
        for i in 0..<4 { s.enqueue(frame(i, module: i % 2 == 0 ? "a" : "b")) }
        _ = s.takeUnsent()
        let taken = s.takeFrames { $0.target.module == ModuleID("a") }
        #expect(taken.map { String(buffer: $0.payload) } == ["{\"i\":0}", "{\"i\":2}"])
        #expect(s.unacked.map { String(buffer: $0.payload) } == ["{\"i\":1}"])
        #expect(s.waiting.map { String(buffer: $0.payload) } == ["{\"i\":3}"])
    }

    @Test func theAckIsTheHighestFrameBelowWhichEveryFrameIsDoneWhateverTheOrder() {
        let s = InboundStream(peer: peer)
        for seq in 1...5 { #expect(s.arrived(seq)) }
        #expect(!s.arrived(3), "a frame seen before is not counted twice")
        #expect(s.received == 5)
        s.complete(2)
        s.complete(3)
        #expect(s.done == 0, "frame 1 is not done yet")
        s.complete(1)
        #expect(s.done == 3)
        s.complete(5)
        #expect(s.done == 3)
        s.complete(4)
        #expect(s.done == 5)
        #expect(s.owesAck)
    }

    @Test func aGapCountsAsDoneSoTheStreamGoesOn() {
        let s = InboundStream(peer: peer)
        #expect(s.arrived(1))
        #expect(s.arrived(4))
        s.complete(1)
        #expect(s.done == 3)
        s.complete(4)
        #expect(s.done == 4)
    }

    /// The ack never runs ahead of the outputs: while an output waits for room in a
    /// full window, the acks this runner sends stay where they were.
    @Test func theAckWaitsWhileAnOutputWaitsForRoomInAFullWindow() throws {
        let me = StreamEnd(runner: RunnerID("mid"), session: 3)
        let upstream = StreamEnd(runner: RunnerID("src"), session: 4)
        let sent = NIOLockedValueBox<[ByteBuffer]>([])
        let router = PeerRouter(window: 1)
        router.connected(as: me, transport: RelayTransport { batch in sent.withLockedValue { $0.append(batch) } })
        let flow = FlowID("f")
        router.setPlacement(flow: flow, generations: [ModuleID("here"): 1], elsewhere: [ModuleID("next")])
        router.setRoutes(flow: flow, [RemoteRoute(module: ModuleID("next"), runner: peer.runner, session: peer.session, gen: 1)])
        // Two outputs for `next`: one in the window, one waiting.
        for i in 0..<2 { router.send(flow: flow, target: Endpoint(module: ModuleID("next"), port: PortName("in")), payload: ByteBuffer(string: "\(i)"), from: nil) }
        // A frame from upstream that is done at once (refused: it is not for a module here at that generation).
        func batch(from: StreamEnd, firstSeq: Int, recv: Int, ack: Int, frames: Int) -> ByteBuffer {
            var b = ByteBufferAllocator().buffer(capacity: 64)
            DataBatchCodec.writeHeader(DataBatchHeader(from: from, to: me, firstSeq: firstSeq, recv: recv, ack: ack), into: &b)
            for _ in 0..<frames { DataBatchCodec.writeFrame(gen: 9, flow: flow, module: ModuleID("here"), port: PortName("in"), payload: ByteBuffer(string: "x"), into: &b) }
            return b
        }
        #expect(router.receive(batch(from: upstream, firstSeq: 1, recv: 0, ack: 0, frames: 1)) == nil)
        router.flush()
        func lastHeader(to: StreamEnd) throws -> DataBatchHeader? {
            try sent.withLockedValue { $0 }.map { try DataBatchCodec.readHeader($0) }.last { $0.to == to }
        }
        #expect(try lastHeader(to: upstream)?.recv == 1)
        #expect(try lastHeader(to: upstream)?.ack == 0, "an output waits: the ack stays")
        // The first output arrived at `next` (not yet done there): the second leaves, and the ack follows it.
        #expect(router.receive(batch(from: peer, firstSeq: 1, recv: 1, ack: 0, frames: 0)) == nil)
        router.flush()
        #expect(try lastHeader(to: upstream)?.ack == 1)
        #expect(try lastHeader(to: peer).map { $0.firstSeq } == 2, "the waiting output went out")
    }
}
