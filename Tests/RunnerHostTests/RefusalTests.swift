import FlowModel
import NIOConcurrencyHelpers
import NIOCore
import RunnerProtocol
import Testing
@testable import RunnerHost

/// Refusals (docs/runner-protocol.md, "Refusals"): a frame refused for a stale
/// generation goes back to its sender, which sends it to the module's current
/// place; a module handed over by a live runner settles there first.
@Suite struct RefusalTests {
    let flow = FlowID("f")
    let me = StreamEnd(runner: RunnerID("here"), session: 3)
    let alpha = StreamEnd(runner: RunnerID("alpha"), session: 4)
    let beta = StreamEnd(runner: RunnerID("beta"), session: 5)

    final class Wire: Sendable {
        let sent = NIOLockedValueBox<[ByteBuffer]>([])
        func take() -> [DataBatch] {
            sent.withLockedValue { list in defer { list = [] }; return list }.map { try! DataBatchCodec.decode($0) }
        }
    }

    func connectedRouter(window: Int = 64) -> (PeerRouter, Wire) {
        let wire = Wire()
        let router = PeerRouter(window: window)
        router.connected(as: me, transport: RelayTransport { b in wire.sent.withLockedValue { $0.append(b) } })
        return (router, wire)
    }

    func batch(from: StreamEnd, to: StreamEnd, firstSeq: Int = 1, recv: Int = 0, ack: Int = 0, refused: [Int] = [],
               frames: [(gen: Int, module: String, payload: String)] = []) -> ByteBuffer {
        var b = ByteBufferAllocator().buffer(capacity: 64)
        DataBatchCodec.writeHeader(DataBatchHeader(from: from, to: to, firstSeq: firstSeq, recv: recv, ack: ack, refused: refused), into: &b)
        for f in frames {
            DataBatchCodec.writeFrame(gen: f.gen, flow: flow, module: ModuleID(f.module), port: PortName("in"), payload: ByteBuffer(string: f.payload), into: &b)
        }
        return b
    }

    func route(_ module: String, _ end: StreamEnd, gen: Int) -> RemoteRoute {
        RemoteRoute(module: ModuleID(module), runner: end.runner, session: end.session, gen: gen)
    }

    func send(_ router: PeerRouter, _ module: String, _ payload: String) {
        router.send(flow: flow, target: Endpoint(module: ModuleID(module), port: PortName("in")), payload: ByteBuffer(string: payload), from: nil)
    }

    func payloads(_ batches: [DataBatch], to end: StreamEnd) -> [String] {
        batches.filter { $0.header.to == end }.flatMap { $0.frames.map { String(buffer: $0.payload) } }
    }

    /// A router that sent `count` frames (`m1`, `m2`, …) for `m` to alpha, at generation 1; the wire is empty again.
    func routerThatSentToAlpha(_ count: Int) -> (PeerRouter, Wire) {
        let (router, wire) = connectedRouter()
        router.setPlacement(flow: flow, generations: [:], elsewhere: [ModuleID("m")])
        router.setRoutes(flow: flow, [route("m", alpha, gen: 1)])
        for i in 1...count { send(router, "m", "m\(i)") }
        router.flush()
        _ = wire.take()
        return (router, wire)
    }

    @Test func aStaleFrameIsListedInTheNextHeaderAndOnlyThenCountedDone() throws {
        let (router, wire) = connectedRouter()
        router.setPlacement(flow: flow, generations: [ModuleID("m"): 2], elsewhere: [])
        // Frames at generation 1 of a module that runs here at 2: refused, all 20 of them.
        let frames = (1...20).map { (gen: 1, module: "m", payload: "\($0)") }
        #expect(router.receive(batch(from: alpha, to: me, frames: frames)) == nil)
        router.flush()
        let headers = wire.take().filter { $0.header.to == alpha }.map(\.header)
        #expect(headers.map(\.refused) == [Array(1...16), Array(17...20)], "at most 16 per header, all in one flush")
        #expect(headers.map(\.ack) == [16, 20], "an ack covers a refused frame only in the header that lists it or later")
        #expect(router.staleFrames == 20)
    }

    @Test func aRefusedFrameAndTheLaterOnesForItsModuleGoToItsNewPlaceInOrderAndUncounted() throws {
        let (router, wire) = connectedRouter()
        router.setPlacement(flow: flow, generations: [:], elsewhere: [ModuleID("m"), ModuleID("other")])
        router.setRoutes(flow: flow, [route("m", alpha, gen: 1), route("other", alpha, gen: 1)])
        for i in 1...3 { send(router, "m", "m\(i)") }
        send(router, "other", "o1")
        router.flush()
        #expect(payloads(wire.take(), to: alpha) == ["m1", "m2", "m3", "o1"])
        // alpha ran m1, refused m2 (m left it); its ack covers m2 too.
        #expect(router.receive(batch(from: alpha, to: me, recv: 4, ack: 4, refused: [2])) == nil)
        send(router, "m", "m4")
        router.flush()
        #expect(payloads(wire.take(), to: alpha).isEmpty, "nothing goes back to the route that refused it")
        #expect(router.queued(flow: flow, module: ModuleID("m")) == 3, "m2, m3 and m4 wait: none is lost to the ack")
        router.setRoutes(flow: flow, [route("m", beta, gen: 2), route("other", alpha, gen: 1)])
        router.flush()
        let toBeta = wire.take().filter { $0.header.to == beta }
        #expect(toBeta.flatMap { $0.frames.map { String(buffer: $0.payload) } } == ["m2", "m3", "m4"])
        #expect(toBeta.flatMap { $0.frames.map(\.gen) } == [2, 2, 2])
        #expect(router.counters(flow: flow).redelivered.isEmpty, "a refused frame never ran: it is no duplicate")
        // A later refusal of a frame taken back already changes nothing.
        #expect(router.receive(batch(from: alpha, to: me, recv: 4, ack: 4, refused: [3])) == nil)
        router.flush()
        #expect(payloads(wire.take(), to: beta).isEmpty)
    }

    @Test func aModuleHandedOverWaitsUntilItsOldPlaceSettledThenNothingIsSentTwice() throws {
        let (router, wire) = routerThatSentToAlpha(3)
        // m moves to beta; alpha is alive and finishes what it has.
        router.setRoutes(flow: flow, [route("m", beta, gen: 2)], handedOver: [ModuleID("m")])
        send(router, "m", "m4")
        router.flush()
        #expect(payloads(wire.take(), to: beta).isEmpty, "new frames wait while alpha settles")
        // alpha ran m1 and m2, and refused m3.
        #expect(router.receive(batch(from: alpha, to: me, recv: 3, ack: 3, refused: [3])) == nil)
        router.flush()
        #expect(payloads(wire.take(), to: beta) == ["m3", "m4"], "only what alpha did not run goes to beta, in order")
        #expect(router.counters(flow: flow).redelivered.isEmpty)
    }

    @Test func aModuleThatMovesAfterItsRunnerIsLostIsSentAgainAtOnceAndCounted() throws {
        let (router, wire) = routerThatSentToAlpha(2)
        router.setRoutes(flow: flow, [route("m", beta, gen: 2)])
        router.flush()
        #expect(payloads(wire.take(), to: beta) == ["m1", "m2"])
        #expect(router.counters(flow: flow).redelivered == [ModuleID("m"): 2])
    }

    @Test func framesSentAgainAfterAReconnectCountAsPossibleDuplicates() throws {
        let (router, wire) = routerThatSentToAlpha(3)
        #expect(router.receive(batch(from: alpha, to: me, recv: 3, ack: 1)) == nil)
        let again = StreamEnd(runner: me.runner, session: 9)
        router.connected(as: again, transport: RelayTransport { b in wire.sent.withLockedValue { $0.append(b) } })
        router.flush()
        #expect(payloads(wire.take(), to: alpha) == ["m2", "m3"])
        #expect(router.counters(flow: flow).redelivered == [ModuleID("m"): 2])
    }
}
