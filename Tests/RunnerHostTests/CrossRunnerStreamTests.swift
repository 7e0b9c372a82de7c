import FlowModel
import NIOCore
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
        // recv alone frees nothing: a frame is kept until it is done.
        s.acknowledged(recv: 3, ack: 0)
        #expect(s.unacked.count == 3)
        #expect(s.takeUnsent().isEmpty)
        s.acknowledged(recv: 3, ack: 2)
        #expect(s.unacked.map(\.seq) == [3, 4, 5])
        #expect(s.takeUnsent().map(\.seq) == [4, 5])
        #expect(s.waiting.isEmpty)
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
}
