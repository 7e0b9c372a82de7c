import FlowModel
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RunnerProtocol
import Testing
@testable import RunnerHost

/// The cross-runner path over another transport than the dispatcher's relay: two runners in one
/// process, their batches through an `InMemoryTransport` (as through a broker), no dispatcher.
/// A split flow delivers every message once, and a module handed over from one runner to the
/// other under load keeps every message and its state (src takes 2 ms a message, so most of
/// them are still to come when count moves).
@Suite(.timeLimit(.minutes(3))) struct CrossRunnerTransportTests {
    static let flowJSON = #"{"id": "span", "modules": [{"id": "src", "runtime": "python3", "code": "import time\ndef on_message(msg, ctx):\n    time.sleep(0.002)\n    return msg.payload\n"}, {"id": "count", "runtime": "node", "code": \#(js(CrashRecoveryTests.countingCode[.node]!))}], "connections": [{"from": "src.out", "to": "count.in"}]}"#
    let src = ModuleID("src"), count = ModuleID("count")
    let alphaEnd = StreamEnd(runner: RunnerID("alpha"), session: 2)
    let betaEnd = StreamEnd(runner: RunnerID("beta"), session: 3)

    func route(_ module: ModuleID, on end: StreamEnd, gen: Int) -> RemoteRoute {
        RemoteRoute(module: module, runner: end.runner, session: end.session, gen: gen)
    }

    func ok(_ reply: RunnerReply) -> Bool { if case .ok = reply { true } else { false } }

    func outputs(_ h: RunnerHarness) -> [Int] { h.recorder.outputs("span").compactMap { Int($0) } }

    @Test func aSplitFlowAndAHandOverOverAnInMemoryTransportLoseNothingAndKeepTheState() async throws {
        let transport = InMemoryTransport()
        try await withRunner { alpha in
            try await withRunner { beta in
                await alpha.host.connected(as: alphaEnd, transport: transport)
                await beta.host.connected(as: betaEnd, transport: transport)
                let flow = try RunnerHarness.flow(Self.flowJSON)
                // src on alpha, count on beta.
                let onB = await beta.host.handle(.deploy(RemoteDeploy(flow: flow, placed: [PlacedModule(module: count, gen: 1)],
                                                                      routes: [route(src, on: alphaEnd, gen: 1)], start: true)))
                #expect(ok(onB), "\(onB)")
                let onA = await alpha.host.handle(.deploy(RemoteDeploy(flow: flow, placed: [PlacedModule(module: src, gen: 1)],
                                                                       routes: [route(count, on: betaEnd, gen: 1)], start: true)))
                #expect(ok(onA), "\(onA)")
                let total = 1000
                for i in 0..<total { try await alpha.inject("span", "src", "\(i)") }
                try await beta.recorder.wait(for: "count runs on beta", timeout: .seconds(60)) { $0.outputs("span").count >= 100 }
                // count moves to alpha while messages are on their way to beta: beta finishes what it had
                // and lets it go with its state; what reached beta after that is refused and comes back.
                let released = await beta.host.handle(.deploy(RemoteDeploy(flow: flow, placed: [],
                                                                           routes: [route(src, on: alphaEnd, gen: 1), route(count, on: alphaEnd, gen: 2)])))
                guard case .released(let states) = released else { Issue.record("beta replied \(released)"); return }
                let onBeta = outputs(beta).count
                #expect(states[count]?["n"]?.intValue == onBeta, "the state after exactly what beta finished: \(states)")
                let moved = await alpha.host.handle(.deploy(RemoteDeploy(
                    flow: flow, placed: [PlacedModule(module: src, gen: 1), PlacedModule(module: count, gen: 2, state: states[count])],
                    start: true, handedOver: [count])))
                #expect(ok(moved), "\(moved)")
                try await alpha.recorder.wait(for: "every message", timeout: .seconds(90)) { $0.outputs("span").count + onBeta >= total }
                let all = outputs(beta) + outputs(alpha)
                #expect(all.count == total, "each message once: \(all.count) outputs of \(total)")
                #expect(Set(all) == Set(0..<total))
                // count's state went on from beta's: one more release reads it.
                let last = await alpha.host.handle(.deploy(RemoteDeploy(flow: flow, placed: [PlacedModule(module: src, gen: 1)])))
                guard case .released(let final) = last else { Issue.record("alpha replied \(last)"); return }
                #expect(final[count]?["n"]?.intValue == total, "\(final)")
                let counts = transport.counts
                #expect(counts.published > 0 && counts.refused == 0, "every batch went to a runner that consumes its end: \(counts)")
                print("in-memory transport: \(onBeta) on beta, \(outputs(alpha).count) on alpha after the hand-over; \(counts.published) batches")
            }
        }
    }

    /// The relay keeps what its connection reads before the runner's data path consumes it (the
    /// welcome comes first, the attach a moment later), in order, and drops what comes after the
    /// consumer stopped (the senders keep those frames).
    @Test func theRelayKeepsWhatArrivesBeforeItsConsumerInOrder() async throws {
        let relay = RelayTransport { _ in }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        func batch(_ n: UInt8) -> ByteBuffer { ByteBuffer(bytes: [n]) }
        relay.arrived(batch(1))
        relay.arrived(batch(2))
        let got = NIOLockedValueBox<[UInt8]>([])
        relay.consume(as: alphaEnd, on: loop) { b in got.withLockedValue { $0.append(b.getInteger(at: b.readerIndex)!) } }
        relay.arrived(batch(3))
        try await eventually("three batches") { got.withLockedValue { $0.count } == 3 }
        #expect(got.withLockedValue { $0 } == [1, 2, 3])
        relay.stopConsuming(alphaEnd)
        relay.arrived(batch(4))
        try await loop.submit {}.get()
        #expect(got.withLockedValue { $0 } == [1, 2, 3])
    }

    /// What arrives before the consumer is bounded: past the bound a batch is dropped (its sender
    /// keeps its frames), not kept without end for a runner that never attaches.
    @Test func theRelayKeepsAtMostItsBoundBeforeItsConsumer() async throws {
        let relay = RelayTransport(maxEarlyBytes: 2) { _ in }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        for n: UInt8 in 1...3 { relay.arrived(ByteBuffer(bytes: [n])) }
        let got = NIOLockedValueBox<[UInt8]>([])
        relay.consume(as: alphaEnd, on: loop) { b in got.withLockedValue { $0.append(b.getInteger(at: b.readerIndex)!) } }
        try await loop.submit {}.get()
        #expect(got.withLockedValue { $0 } == [1, 2])
    }
}
