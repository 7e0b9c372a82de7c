import FlowModel
import Logging
import NIOCore
import RunnerProtocol

/// Cross-runner data on one runner (docs/runner-protocol.md, "Data"): frames
/// for modules placed on other runners leave in batches, one stream per peer
/// connection, numbered and kept until done; batches from peers are checked
/// (generation) and queued on the instance links like any other message.
/// Payloads are copied as bytes and never decoded.
///
/// Confined to the runner's event loop (asserted on every entry in debug builds when it is
/// given its `loop`); `DataPath` or `InjectSource` owns it. The streams, gates and receipts it
/// holds are reached only through it (and the links on the same loop), so they share its confinement.
final class PeerRouter: @unchecked Sendable {
    /// The loop it is confined to (nil in unit tests that drive it from one thread).
    private let loop: (any EventLoop)?
    /// This runner's connection, from its `welcome`; nil until then (frames wait).
    private(set) var me: StreamEnd?
    /// What carries the batches (the dispatcher's relay, or another `CrossRunnerTransport`); nil until connected.
    private var transport: (any CrossRunnerTransport)?
    private let window: Int
    /// Messages waiting (beyond the window, or for an unplaced module) past which their senders are held.
    private let highWater: Int
    /// The same for a sender on a cycle through another runner (it must write on for what comes back to reach it).
    private let cycleHighWater: Int
    /// Per flow: the modules here on a cycle through a module elsewhere.
    private var cycles: [FlowID: Set<ModuleID>] = [:]
    private var parkedGates: [FlowModuleID: PeerGate] = [:]
    private let maxFrameBytes: Int
    private let logger: Logger

    /// Per flow: where its modules placed elsewhere run.
    private var routes: [FlowID: [ModuleID: RemoteRoute]] = [:]
    /// Per flow: the input slots of the modules placed here, and their generations.
    private var inputs: [FlowID: [Endpoint: (link: InstanceLink, slot: Int)]] = [:]
    private var gens: [FlowID: [ModuleID: Int]] = [:]
    private var elsewhere: [FlowID: Set<ModuleID>] = [:]
    private var outbound: [StreamEnd: OutboundStream] = [:]
    private var inbound: [StreamEnd: InboundStream] = [:]
    /// Frames for modules that are placed nowhere yet (or whose place is moving), per module, in order.
    private var parked: [FlowModuleID: CircularBuffer<OutboundFrame>] = [:]
    private var dirty: Set<StreamEnd> = []
    /// Frames refused because their generation is not the one the module runs at here (or it does not run here).
    private(set) var staleFrames = 0
    private var staleByFlow: [FlowID: Int] = [:]
    /// Frames sent again after their target moved, per module: an upper bound of the duplicates.
    private(set) var redelivered: [FlowModuleID: Int] = [:]
    /// Per module: the route a peer refused frames on (stale generation there). Frames for it wait
    /// in `parked` until its route changes, or `refusalRetry` has passed (then they are tried again).
    private var refusedRoutes: [FlowModuleID: (route: RemoteRoute, at: NIODeadline)] = [:]
    /// Per module handed over by a live runner (`setRoutes(handedOver:)`): the streams to its old
    /// place that still hold frames for it. New frames wait in `parked` until each of those is
    /// acknowledged (done there) or refused (taken back), so nothing runs twice and order holds;
    /// past `settleLimit` (the old place died meanwhile) they are taken back and sent again.
    private var settling: [FlowModuleID: (peers: Set<StreamEnd>, since: NIODeadline)] = [:]
    static let refusalRetry = TimeAmount.seconds(1)
    static let settleLimit = TimeAmount.seconds(5)
    static let tickInterval = TimeAmount.milliseconds(250)

    init(window: Int = RunnerProtocol.defaultWindow, highWater: Int = 1024, cycleHighWater: Int = 1_000_000,
         maxFrameBytes: Int = RunnerProtocol.defaultMaxFrameBytes, loop: (any EventLoop)? = nil,
         logger: Logger = Logger(label: "polyflow-peers")) {
        self.loop = loop
        self.window = window
        self.highWater = highWater
        self.cycleHighWater = max(cycleHighWater, highWater)
        self.maxFrameBytes = maxFrameBytes
        self.logger = logger
    }

    /// Debug builds: the caller is on the loop this router is confined to.
    @inline(__always)
    private func assertConfined() { loop?.assertInEventLoop() }

    /// Whether any flow of this runner has modules elsewhere (nothing to do on the hot path otherwise).
    var isEmpty: Bool { routes.isEmpty && parked.isEmpty && outbound.isEmpty && inbound.isEmpty }

    // MARK: the connection

    /// A new connection (`welcome`): this runner's end is `me`, batches go by `transport` (the caller
    /// has it deliver what comes for `me` to `receive`). The old streams are gone; their unacknowledged
    /// frames are kept, to go again where `routes` says.
    func connected(as me: StreamEnd, transport: any CrossRunnerTransport) {
        assertConfined()
        let old = outbound.values.sorted { $0.peer.description < $1.peer.description }
        self.me = me
        self.transport = transport
        outbound = [:]
        inbound = [:]
        dirty = []
        refusedRoutes = [:]
        settling = [:]
        for stream in old {
            // Sent on the old connection and not acknowledged: it may have run there, so it counts as a possible duplicate.
            for frame in stream.takeFrames(where: { _ in true }) { resend(frame) }
        }
        releaseParked()
    }

    /// The link to the dispatcher is gone: nothing is sent until the next `connected`.
    func disconnected() {
        assertConfined()
        if let me { transport?.stopConsuming(me) }
        transport = nil
        me = nil
    }

    // MARK: tables

    /// Where the flow's modules elsewhere run (from `deploy` or `routes`). Unacknowledged
    /// frames for a module that moved go again, in order, to its new place, except for
    /// modules in `handedOver`: their old place is alive and let them go after finishing
    /// what it had, so each frame kept for it is either acknowledged there or refused
    /// (and then sent to the new place); new frames wait until that is settled.
    func setRoutes(flow: FlowID, _ new: [RemoteRoute], handedOver: Set<ModuleID> = []) {
        assertConfined()
        let old = routes[flow] ?? [:]
        var table: [ModuleID: RemoteRoute] = [:]
        for r in new { table[r.module] = r }
        routes[flow] = table.isEmpty ? nil : table
        let moved = Set(old.keys.filter { old[$0] != table[$0] })
        for module in moved { refusedRoutes[FlowModuleID(flow: flow, module: module)] = nil }
        // A module that was placed nowhere here (or is new) and arrives handed over still settles what was sent to its old place.
        let settle = handedOver.filter { old[$0] != table[$0] }
        let reroute = moved.subtracting(settle)
        let streams = outbound.values.sorted(by: { $0.peer.description < $1.peer.description })
        for module in settle {
            let key = FlowModuleID(flow: flow, module: module)
            let holding = Set(streams.filter { $0.holds(flow: flow, module: module) }.map(\.peer))
            if !holding.isEmpty { settling[key] = (holding, .now()) }
        }
        if !reroute.isEmpty {
            for stream in streams {
                for frame in stream.takeFrames(where: { $0.flow == flow && reroute.contains($0.target.module) }) { resend(frame) }
            }
        }
        releaseParked()
    }

    /// A frame kept for a module that moved goes again to its new place; counted as a possible duplicate when it had been sent.
    private func resend(_ frame: OutboundFrame) {
        redelivered[FlowModuleID(flow: frame.flow, module: frame.target.module), default: 0] += frame.seq > 0 ? 1 : 0
        park(frame)
    }

    /// The input slots of a flow's modules placed here (a new plan, after a deploy or a swap).
    func register(flow: FlowID, links: [InstanceLink], plan: FlowPlan) {
        assertConfined()
        var table: [Endpoint: (link: InstanceLink, slot: Int)] = [:]
        for (i, instance) in plan.instances.enumerated() {
            for (slot, endpoint) in instance.slots.enumerated() { table[endpoint] = (links[i], slot) }
        }
        inputs[flow] = table
    }

    /// Messages that waited for a module of `flow` that now runs here go to it, in order
    /// (after the flow's links are wired and its debugger attached, so a paused flow holds them).
    func deliverParked(flow: FlowID) {
        assertConfined()
        guard let table = inputs[flow] else { return }
        for key in parked.keys.sorted(by: { "\($0)" < "\($1)" }) where key.flow == flow {
            guard var frames = parked[key], frames.contains(where: { table[$0.target] != nil }) else { continue }
            parked[key] = nil
            parkedGates.removeValue(forKey: key)?.openAll()
            while let f = frames.popFirst() {
                if let target = table[f.target] {
                    target.link.enqueue(slot: target.slot, payload: f.payload)
                } else {
                    logger.warning("dropped a message for \(flow)/\(f.target): that port no longer exists")
                }
            }
        }
    }

    /// The generations of the flow's modules placed here, and the flow's modules placed elsewhere (or nowhere).
    func setPlacement(flow: FlowID, generations: [ModuleID: Int], elsewhere: Set<ModuleID>, cycles: Set<ModuleID> = []) {
        assertConfined()
        gens[flow] = generations
        self.cycles[flow] = cycles.isEmpty ? nil : cycles
        self.elsewhere[flow] = elsewhere.isEmpty ? nil : elsewhere
    }

    /// Whether `module` of `flow` belongs to another runner (or to none yet).
    func runsElsewhere(flow: FlowID, module: ModuleID) -> Bool { elsewhere[flow]?.contains(module) ?? false }

    /// The flow is gone from this runner.
    func forget(flow: FlowID) {
        assertConfined()
        inputs[flow] = nil
        gens[flow] = nil
        cycles[flow] = nil
        elsewhere[flow] = nil
        routes[flow] = nil
        for key in parked.keys where key.flow == flow {
            if let n = parked[key]?.count, n > 0 { logger.warning("dropped \(n) messages waiting for \(key): the flow left this runner") }
            parked[key] = nil
            parkedGates.removeValue(forKey: key)?.openAll()
        }
        for key in refusedRoutes.keys where key.flow == flow { refusedRoutes[key] = nil }
        for key in settling.keys where key.flow == flow { settling[key] = nil }
        // Frames already on their way to other runners still go: what this
        // runner's modules did before the flow left is not lost.
        for stream in outbound.values { stream.gate.openAll() }
    }

    // MARK: sending

    /// A message from `sender` for `target` of `flow`, which runs on another
    /// runner (or nowhere yet). Past `highWater` waiting messages the sender
    /// stops being read until they are half gone: back pressure across runners.
    /// Returns the stream and number the frame got, when it went into a window at once.
    @discardableResult
    func send(flow: FlowID, target: Endpoint, payload: ByteBuffer, from sender: InstanceLink?) -> (peer: StreamEnd, seq: Int)? {
        assertConfined()
        var frame = OutboundFrame(flow: flow, target: target, gen: 0, payload: payload)
        let key = FlowModuleID(flow: flow, module: target.module)
        guard me != nil, transport != nil, let route = routes[flow]?[target.module], parked[key] == nil,
              settling[key] == nil, refusedRoutes[key] == nil else {
            park(frame)
            if let sender, parked[key, default: []].count > highWater {
                (parkedGates[key] ?? { let g = PeerGate(); parkedGates[key] = g; return g }()).hold(sender)
            }
            return nil
        }
        frame.gen = route.gen
        let peer = StreamEnd(runner: route.runner, session: route.session)
        let s = stream(to: peer)
        let numbered = s.enqueue(frame)
        let kept = s.queuedCount - window
        if let sender, kept > highWater, kept > cycleHighWater || !onCycle(sender, flow: flow) {
            s.gate.hold(sender)
        }
        dirty.insert(peer)
        return numbered.map { (peer, $0) }
    }

    /// Whether `sender` runs a module of `flow` on a cycle through another runner (checked only past `highWater`).
    private func onCycle(_ sender: InstanceLink, flow: FlowID) -> Bool {
        guard let modules = cycles[flow] else { return false }
        return sender.slots.contains { modules.contains($0.module) }
    }

    /// How many frames `peer` said it received on our stream to it (nil: no stream to it any more).
    func received(by peer: StreamEnd) -> Int? { outbound[peer]?.peerReceived }

    /// Messages waiting for one module elsewhere (parked and unacknowledged), for `status` and injection bounds.
    func queued(flow: FlowID, module: ModuleID) -> Int {
        assertConfined()
        let key = FlowModuleID(flow: flow, module: module)
        var n = parked[key]?.count ?? 0
        for stream in outbound.values {
            n += stream.unacked.reduce(0) { $0 + ($1.flow == flow && $1.target.module == module ? 1 : 0) }
            n += stream.waiting.reduce(0) { $0 + ($1.flow == flow && $1.target.module == module ? 1 : 0) }
        }
        return n
    }

    private func park(_ frame: OutboundFrame) {
        var f = frame
        f.seq = 0
        parked[FlowModuleID(flow: frame.flow, module: frame.target.module), default: []].append(f)
    }

    /// Frames a peer refused go back in front of what waits for their module (they are older),
    /// and wait for the module's route to change (or `refusalRetry`).
    private func takeBack(_ frames: [OutboundFrame], refusedBy peer: StreamEnd) {
        guard let first = frames.first else { return }
        let key = FlowModuleID(flow: first.flow, module: first.target.module)
        if gens[key.flow]?[key.module] != nil, let table = inputs[key.flow], table[first.target] != nil {
            // The module runs here now: its refused frames are delivered here.
            for f in frames {
                if let target = table[f.target] {
                    target.link.enqueue(slot: target.slot, payload: f.payload)
                } else {
                    logger.warning("dropped a message for \(key.flow)/\(f.target): that port no longer exists")
                }
            }
            return
        }
        var queue = parked[key] ?? []
        for f in frames.reversed() {
            var f = f
            f.seq = 0
            queue.prepend(f)
        }
        parked[key] = queue
        // A module that runs here now gets them when its links are registered (`deliverParked`).
        guard gens[key.flow]?[key.module] == nil else { return }
        refusedRoutes[key] = (RemoteRoute(module: key.module, runner: peer.runner, session: peer.session, gen: first.gen), .now())
    }

    /// Whether what waits for `key` may go to `route` now: not to a place that refused it
    /// (until `refusalRetry` passed), and not while its old place settles what it had.
    private func mayRelease(_ key: FlowModuleID, to route: RemoteRoute, now: NIODeadline) -> Bool {
        if settling[key] != nil { return false }
        if let refused = refusedRoutes[key] {
            if refused.route == route, now - refused.at < Self.refusalRetry { return false }
            refusedRoutes[key] = nil
        }
        return true
    }

    /// Sends what was parked for modules that now have a place, in order.
    private func releaseParked() {
        guard me != nil, transport != nil else { return }
        let now = NIODeadline.now()
        for key in parked.keys.sorted(by: { "\($0)" < "\($1)" }) {
            guard let route = routes[key.flow]?[key.module], mayRelease(key, to: route, now: now),
                  var frames = parked.removeValue(forKey: key) else { continue }
            let peer = StreamEnd(runner: route.runner, session: route.session)
            let s = stream(to: peer)
            while var f = frames.popFirst() {
                f.gen = route.gen
                s.enqueue(f)
            }
            parkedGates.removeValue(forKey: key)?.openAll()
            dirty.insert(peer)
        }
    }

    private func stream(to peer: StreamEnd) -> OutboundStream {
        if let s = outbound[peer] { return s }
        let s = OutboundStream(peer: peer, window: window)
        outbound[peer] = s
        return s
    }

    // MARK: receiving

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
    private func settle(peer: StreamEnd) {
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
    private func expireWaits() {
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

    // MARK: flushing

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

    // MARK: status

    struct Counters {
        var staleFrames: Int
        var redelivered: [FlowModuleID: Int]
    }

    var counters: Counters { Counters(staleFrames: staleFrames, redelivered: redelivered) }

    /// One flow's counters: stale frames refused here, frames sent again per target module.
    /// The generations of the flow's modules placed here.
    func generations(flow: FlowID) -> [ModuleID: Int] { gens[flow] ?? [:] }

    /// Messages of `flow` waiting here for modules elsewhere or nowhere (parked, queued or
    /// unacknowledged), per target module: `status` shows them on a module that runs nowhere.
    func waiting(flow: FlowID) -> [ModuleID: Int] {
        assertConfined()
        var n: [ModuleID: Int] = [:]
        for (key, frames) in parked where key.flow == flow && !frames.isEmpty { n[key.module, default: 0] += frames.count }
        for stream in outbound.values {
            for f in stream.unacked where f.flow == flow { n[f.target.module, default: 0] += 1 }
            for f in stream.waiting where f.flow == flow { n[f.target.module, default: 0] += 1 }
        }
        return n
    }

    func counters(flow: FlowID) -> (staleFrames: Int, redelivered: [ModuleID: Int]) {
        assertConfined()
        var r: [ModuleID: Int] = [:]
        for (key, n) in redelivered where key.flow == flow && n > 0 { r[key.module] = n }
        return (staleByFlow[flow] ?? 0, r)
    }
}
