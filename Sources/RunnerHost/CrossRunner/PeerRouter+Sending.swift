import FlowModel
import Logging
import NIOCore
import RunnerProtocol

/// Frames for modules on other runners: into their streams, or parked while their module has no
/// place (or its place moves), taken back when refused, released when a place is known.
extension PeerRouter {
    /// A frame kept for a module that moved goes again to its new place; counted as a possible duplicate when it had been sent.
    func resend(_ frame: OutboundFrame) {
        redelivered[FlowModuleID(flow: frame.flow, module: frame.target.module), default: 0] += frame.seq > 0 ? 1 : 0
        park(frame)
    }


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
                (parkedGates[key] ?? { let g = PeerGate(); parkedGates[key] = g; return g }()).hold(sender.writer)
            }
            return nil
        }
        frame.gen = route.gen
        let peer = StreamEnd(runner: route.runner, session: route.session)
        let s = stream(to: peer)
        let numbered = s.enqueue(frame)
        let kept = s.queuedCount - window
        if let sender, kept > highWater, kept > cycleHighWater || !onCycle(sender, flow: flow) {
            s.gate.hold(sender.writer)
        }
        dirty.insert(peer)
        return numbered.map { (peer, $0) }
    }

    /// Whether `sender` runs a module of `flow` on a cycle through another runner (checked only past `highWater`).
    func onCycle(_ sender: InstanceLink, flow: FlowID) -> Bool {
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

    func park(_ frame: OutboundFrame) {
        var f = frame
        f.seq = 0
        parked[FlowModuleID(flow: frame.flow, module: frame.target.module), default: []].append(f)
    }

    /// Frames a peer refused go back in front of what waits for their module (they are older),
    /// and wait for the module's route to change (or `refusalRetry`).
    func takeBack(_ frames: [OutboundFrame], refusedBy peer: StreamEnd) {
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
    func mayRelease(_ key: FlowModuleID, to route: RemoteRoute, now: NIODeadline) -> Bool {
        if settling[key] != nil { return false }
        if let refused = refusedRoutes[key] {
            if refused.route == route, now - refused.at < Self.refusalRetry { return false }
            refusedRoutes[key] = nil
        }
        return true
    }

    /// Sends what was parked for modules that now have a place, in order.
    func releaseParked() {
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

    func stream(to peer: StreamEnd) -> OutboundStream {
        if let s = outbound[peer] { return s }
        let s = OutboundStream(peer: peer, window: window)
        outbound[peer] = s
        return s
    }
}
