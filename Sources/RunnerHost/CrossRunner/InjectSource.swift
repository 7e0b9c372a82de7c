import FlowModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import RunnerProtocol

/// Messages injected through the API (`inject`), sent by the dispatcher to
/// the module's runner as a cross-runner stream of their own, from
/// `end`: numbered and kept until the runner says they are
/// done, like any frame between runners. So an injected message whose runner
/// dies before processing it is delivered again at the module's new place,
/// and one for a module placed nowhere yet waits here (bounded) until it has
/// a place. Payloads are bytes, never decoded.
///
/// Its state lives on `loop` (asserted where it is touched, in debug builds); every method is
/// safe to call from anywhere.
public final class InjectSource: @unchecked Sendable {
    /// The dispatcher's end of its inject streams (a session number no runner connection gets).
    public let end: StreamEnd

    private let loop: any EventLoop
    private let peers: PeerRouter
    /// Messages per module waiting here or unacknowledged, past which `inject` says `saturated`.
    private let bound: Int
    private let logger: Logger
    /// Injects waiting for their runner's `recv`.
    private var waiters: [(peer: StreamEnd, seq: Int, promise: EventLoopPromise<Void>)] = []
    /// Its transport (set by `connect`).
    private let relay = NIOLockedValueBox<RelayTransport?>(nil)
    /// Retries of refused routes and ends of hand-overs (`PeerRouter.tick`).
    private var ticks: RepeatedTask?

    public init(end: StreamEnd, loop: any EventLoop, window: Int = RunnerProtocol.defaultWindow, bound: Int = 2048,
                maxFrameBytes: Int = RunnerProtocol.defaultMaxFrameBytes, logger: Logger = Logger(label: "polyflow-inject")) {
        self.end = end
        self.loop = loop
        self.bound = bound
        self.logger = logger
        peers = PeerRouter(window: window, highWater: bound, maxFrameBytes: maxFrameBytes, loop: loop, logger: logger)
        let peers = self.peers
        ticks = loop.scheduleRepeatedTask(initialDelay: PeerRouter.tickInterval, delay: PeerRouter.tickInterval) { _ in peers.tick() }
    }

    deinit { ticks?.cancel() }

    /// Where the batches go (towards the runners, through the dispatcher's forwarding), and what
    /// comes back for `end` (the runners' `recv` and `ack` for our frames: `receive(batch:)`).
    public func connect(send: @escaping @Sendable (ByteBuffer) -> Void) {
        let peers = self.peers, end = self.end, loop = self.loop, relay = RelayTransport(send: send)
        self.relay.withLockedValue { $0 = relay }
        loop.execute {
            relay.consume(as: end, on: loop) { batch in
                _ = peers.receive(batch)
                peers.flush()
                self.wake()
            }
            peers.connected(as: end, transport: relay)
        }
    }

    /// Where a flow's modules run now: every placed one (`routes`); `modules` are all of the flow's.
    /// Unacknowledged messages for a module that moved go again, in order, to its new place.
    /// `handedOver`: modules whose old place is alive and let them go drained (see `PeerRouter.setRoutes`).
    public func setRoutes(flow: FlowID, modules: [ModuleID], routes: [RemoteRoute], handedOver: Set<ModuleID> = []) async {
        let peers = self.peers
        try? await loop.submit {
            peers.setPlacement(flow: flow, generations: [:], elsewhere: Set(modules))
            peers.setRoutes(flow: flow, routes, handedOver: handedOver)
            peers.flush()
            self.wake()
        }.get()
    }

    /// The flow is gone: what waits for it is dropped.
    public func forget(flow: FlowID) async {
        let peers = self.peers
        try? await loop.submit { peers.forget(flow: flow) }.get()
    }

    /// Sends `payload` to `target`'s input. Returns false when too much waits
    /// for that module already (`saturated`). Otherwise it returns once the
    /// module's runner has it queued (as `inject` did on one runner), or once
    /// it waits here for the module's place, or after `patience` (it is kept
    /// here either way until done).
    public func inject(flow: FlowID, target: Endpoint, payload: ByteBuffer, patience: TimeAmount = .seconds(5)) async -> Bool {
        let peers = self.peers, loop = self.loop
        let accepted = loop.flatSubmit { () -> EventLoopFuture<Bool> in
            guard peers.queued(flow: flow, module: target.module) < self.bound else { return loop.makeSucceededFuture(false) }
            let sent = peers.send(flow: flow, target: target, payload: payload, from: nil)
            peers.flush()
            guard let (peer, seq) = sent else { return loop.makeSucceededFuture(true) }
            let promise = loop.makePromise(of: Void.self)
            loop.assertInEventLoop()
            self.waiters.append((peer, seq, promise))
            loop.scheduleTask(in: patience) { self.finish(promise) }
            return promise.futureResult.map { true }
        }
        return (try? await accepted.get()) ?? false
    }

    /// A batch addressed to `end`: the runners' `recv` and `ack` for our frames.
    public func receive(batch: ByteBuffer) {
        relay.withLockedValue { $0 }?.arrived(batch)
    }

    /// Messages waiting here or unacknowledged for one module (for `status`).
    public func queued(flow: FlowID, module: ModuleID) async -> Int {
        let peers = self.peers
        return (try? await loop.submit { peers.queued(flow: flow, module: module) }.get()) ?? 0
    }

    /// Injected messages sent again after their module moved, per module of `flow`.
    public func redelivered(flow: FlowID) async -> [ModuleID: Int] {
        let peers = self.peers
        return (try? await loop.submit { peers.counters(flow: flow).redelivered }.get()) ?? [:]
    }

    private func wake() {
        loop.assertInEventLoop()
        guard !waiters.isEmpty else { return }
        var still: [(peer: StreamEnd, seq: Int, promise: EventLoopPromise<Void>)] = []
        for w in waiters {
            // Received there, or its stream is gone (the frame moved on with the module): done waiting.
            if let received = peers.received(by: w.peer), received < w.seq { still.append(w) } else { w.promise.succeed() }
        }
        waiters = still
    }

    private func finish(_ promise: EventLoopPromise<Void>) {
        loop.assertInEventLoop()
        guard let i = waiters.firstIndex(where: { $0.promise.futureResult === promise.futureResult }) else { return }
        waiters.remove(at: i)
        promise.succeed()
    }
}
