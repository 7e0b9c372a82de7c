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
///
/// One type over four files, each a seam of its own: this one (the connection, the tables, status),
/// `+Sending` (frames out, parked, taken back), `+Receiving` (batches in, settling, retries) and
/// `+Flushing` (batches out). Its state is internal for those extensions; nothing outside
/// `PeerRouter` touches it.
final class PeerRouter: @unchecked Sendable {
    /// The loop it is confined to (nil in unit tests that drive it from one thread).
    let loop: (any EventLoop)?
    /// This runner's connection, from its `welcome`; nil until then (frames wait).
    var me: StreamEnd?
    /// What carries the batches (the dispatcher's relay, or another `CrossRunnerTransport`); nil until connected.
    var transport: (any CrossRunnerTransport)?
    let window: Int
    /// Messages waiting (beyond the window, or for an unplaced module) past which their senders are held.
    let highWater: Int
    /// The same for a sender on a cycle through another runner (it must write on for what comes back to reach it).
    let cycleHighWater: Int
    /// Per flow: the modules here on a cycle through a module elsewhere.
    var cycles: [FlowID: Set<ModuleID>] = [:]
    var parkedGates: [FlowModuleID: PeerGate] = [:]
    let maxFrameBytes: Int
    let logger: Logger

    /// Per flow: where its modules placed elsewhere run.
    var routes: [FlowID: [ModuleID: RemoteRoute]] = [:]
    /// Per flow: the input slots of the modules placed here, and their generations.
    var inputs: [FlowID: [Endpoint: (link: InstanceLink, slot: Int)]] = [:]
    var gens: [FlowID: [ModuleID: Int]] = [:]
    var elsewhere: [FlowID: Set<ModuleID>] = [:]
    var outbound: [StreamEnd: OutboundStream] = [:]
    var inbound: [StreamEnd: InboundStream] = [:]
    /// Frames for modules that are placed nowhere yet (or whose place is moving), per module, in order.
    var parked: [FlowModuleID: CircularBuffer<OutboundFrame>] = [:]
    var dirty: Set<StreamEnd> = []
    /// Frames refused because their generation is not the one the module runs at here (or it does not run here).
    var staleFrames = 0
    var staleByFlow: [FlowID: Int] = [:]
    /// Frames sent again after their target moved, per module: an upper bound of the duplicates.
    var redelivered: [FlowModuleID: Int] = [:]
    /// Per module: the route a peer refused frames on (stale generation there). Frames for it wait
    /// in `parked` until its route changes, or `refusalRetry` has passed (then they are tried again).
    var refusedRoutes: [FlowModuleID: (route: RemoteRoute, at: NIODeadline)] = [:]
    /// Per module handed over by a live runner (`setRoutes(handedOver:)`): the streams to its old
    /// place that still hold frames for it. New frames wait in `parked` until each of those is
    /// acknowledged (done there) or refused (taken back), so nothing runs twice and order holds;
    /// past `settleLimit` (the old place died meanwhile) they are taken back and sent again.
    var settling: [FlowModuleID: (peers: Set<StreamEnd>, since: NIODeadline)] = [:]
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
    func assertConfined() { loop?.assertInEventLoop() }

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


    /// The input slots of a flow's modules placed here (a new plan, after a deploy or a swap).
    func register(flow: FlowID, links: [InstanceKey: InstanceLink]) {
        assertConfined()
        var table: [Endpoint: (link: InstanceLink, slot: Int)] = [:]
        for link in links.values {
            for (slot, endpoint) in link.slots.enumerated() { table[endpoint] = (link, slot) }
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
