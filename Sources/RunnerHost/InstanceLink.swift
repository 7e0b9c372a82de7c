import FlowModel
import NIOCore
import PipeBridge
import RunnerProtocol

/// One flow's side of one runtime instance: its input slots, its routes, and
/// the stages its messages pass before the instance's writer
/// (docs/architecture.md, "Delivery stages"):
///
///     arriving message → debugger (while it watches the flow) → swap hold (during a hot swap) → writer
///
/// Frames from the runtime are routed here too: each route's targets are
/// sinks (`FrameSink`), served in one loop.
///
/// Confined to the runner's event loop: every entry asserts it (debug builds).
/// The stages are the link's own fields: the debugger asks to divert
/// (`divert(to:)`), the swap asks to hold (`beginHold`); no one else sets them.
final class InstanceLink: @unchecked Sendable {
    let loop: any EventLoop
    let flow: FlowID
    let runtime: RuntimeKind
    /// The process side: window, acks, write buffer, commit ledger.
    let writer: InstanceWriter
    /// Input slot `i` is `slots[i]` (renumbered by a hot swap).
    private(set) var slots: [Endpoint]
    /// Route id → targets (`DataPath.connect`).
    private(set) var routes: [ResolvedRoute] = []
    /// The debugger stage: set while the flow's debugger watches or holds it.
    private(set) var tap: FlowDebugger?
    /// The flow's debugger, always: told of acks, so it can tell when the flow is quiet (`report(to:)`).
    private(set) weak var watcher: FlowDebugger?
    /// The hot swap's stage.
    private var hold = SwapHold()

    init(writer: InstanceWriter, flow: FlowID, runtime: RuntimeKind, slots: [Endpoint]) {
        self.loop = writer.loop
        self.writer = writer
        self.flow = flow
        self.runtime = runtime
        self.slots = slots
    }

    var dataPath: DataPath { writer.dataPath }

    // MARK: frames from the runtime

    /// A data frame from this instance: to each target of the route.
    @inline(__always)
    func route(_ routeID: Int, payload: ByteBuffer) throws(FrameError) {
        loop.assertInEventLoop()
        guard routeID < routes.count else {
            throw FrameError(.badSlot, "route id \(routeID) is not one the host gave this instance (it has \(routes.count))")
        }
        let route = routes[routeID]
        if let tap { tap.emitted(from: route.source, payload: payload) }
        // Caused by a frame from another runner: that frame is done only once this is done too.
        // Outputs come before the ack that covers their cause, so the cause is in flight; holding the
        // oldest receipt holds every later frame of its stream too (acks are cumulative).
        let receipt = writer.oldestReceipt()
        for target in route.targets {
            switch target {
            case .input(let link, let slot, let sharesReceipt):
                if sharesReceipt, let receipt {
                    receipt.retain()
                    link.enqueue(slot: slot, payload: payload, receipt: receipt)
                } else {
                    link.enqueue(slot: slot, payload: payload)
                }
            case .remote(let endpoint):
                dataPath.peers.send(flow: flow, target: endpoint, payload: payload, from: self)
            case .output(let endpoint):
                dataPath.publish(flow: flow, source: endpoint, payload: payload)
            }
        }
    }

    /// `A<n>` from process `life`, to the writer; the debugger hears of progress.
    @inline(__always)
    func ack(_ count: Int, life: Int) {
        if writer.ack(count, life: life) { watcher?.linkProgressed() }
    }

    // MARK: messages to the runtime

    /// A message for input `slot`: through every stage. A message from another runner
    /// carries its `receipt`, through the debugger too: it is done once processed.
    @inline(__always)
    func enqueue(slot: Int, payload: ByteBuffer, receipt: InboundStream.Receipt? = nil) {
        loop.assertInEventLoop()
        if let tap {
            tap.arrive(link: self, slot: slot, payload: payload, receipt: receipt)
            return
        }
        deliver(slot: slot, payload: payload, receipt: receipt)
    }

    /// Past the debugger: the swap hold, then the writer.
    @inline(__always)
    func deliver(slot: Int, payload: ByteBuffer, receipt: InboundStream.Receipt? = nil) {
        loop.assertInEventLoop()
        let message = PendingMessage(slot: slot, payload: payload, receipt: receipt)
        if hold.takes(slot) { hold.hold(message) } else { writer.accept(message) }
    }

    /// Straight to the writer, whatever its window (a debugger step).
    func forceDeliver(slot: Int, payload: ByteBuffer, receipt: InboundStream.Receipt? = nil) {
        writer.force(PendingMessage(slot: slot, payload: payload, receipt: receipt))
    }

    func flush() { writer.flush() }

    // MARK: the debugger stage

    /// The debugger takes the flow's arriving messages; one frame at a time is in flight.
    func divert(to debugger: FlowDebugger) {
        loop.assertInEventLoop()
        tap = debugger
        writer.oneAtATime(true)
    }

    /// Messages go straight on again, with the whole window.
    func undivert() {
        loop.assertInEventLoop()
        tap = nil
        writer.oneAtATime(false)
    }

    func setRouting(viaHost: Bool) { writer.setRouting(viaHost: viaHost) }

    /// The flow's debugger hears of this link's acks from now on.
    func report(to debugger: FlowDebugger) {
        loop.assertInEventLoop()
        watcher = debugger
    }

    // MARK: the swap hold

    /// Holds every new message except those for `drain` slots; what waits in
    /// the writer's queue for other slots is held too, in order.
    func beginHold(drain: Set<Int>) {
        loop.assertInEventLoop()
        hold.begin(drain: drain)
        for m in writer.takeQueued(keeping: { drain.contains($0.slot) }) { hold.hold(m) }
    }

    /// The removed modules finished what was queued for them: from now on their
    /// messages are held too (before their states are read, so that nothing runs
    /// after that; held messages for a module that left go to its new place).
    func stopDraining() {
        loop.assertInEventLoop()
        hold.stopDraining()
    }

    /// Everything held and queued (old slot numbers), oldest first; ends the hold.
    func endHold() -> [PendingMessage] {
        loop.assertInEventLoop()
        var all = hold.end()
        all.append(contentsOf: writer.takeQueued(keeping: { _ in false }))
        for i in all.indices { all[i].complete() }
        return all
    }

    // MARK: wiring

    /// New routes (`DataPath.connect`).
    func connect(_ routes: [ResolvedRoute]) {
        loop.assertInEventLoop()
        self.routes = routes
    }

    /// New tables after a swap (the runtime is idle and has the same ones).
    func replaceSlots(_ newSlots: [Endpoint]) {
        loop.assertInEventLoop()
        slots = newSlots
    }

    /// Drops the references to other links (the flow is gone).
    func forget() {
        loop.assertInEventLoop()
        writer.forget()
        routes = []
        tap = nil
    }

    // MARK: what waits

    /// Nothing in flight and nothing waiting in the writer (the debugger's held messages are not here).
    var isIdle: Bool { writer.isIdle }

    var heldCount: Int { hold.held.count }

    /// Whether an API call may add a message now (the queue is under twice its bound).
    var acceptsInjection: Bool {
        writer.queued.count < writer.highWater * 2 && (tap?.heldCount ?? 0) < writer.highWater * 2
    }

    /// Everything not yet acknowledged, oldest first (for moving to a new plan); empties the link.
    func takeAll() -> [PendingMessage] {
        loop.assertInEventLoop()
        var all = writer.takeAll()
        all.append(contentsOf: hold.end())
        return all.map { m in
            var m = m
            m.complete()
            return PendingMessage(slot: m.slot, payload: m.payload)
        }
    }

    /// A new connection to the dispatcher: messages from other runners (and what they caused here)
    /// that wait and have not been written to the runtime are dropped, not completed: their senders
    /// kept them unacknowledged and send them again on the new connection. Those in flight finish.
    func dropUnstartedFromOtherRunners() {
        loop.assertInEventLoop()
        writer.dropUnstartedFromOtherRunners()
        hold.dropFromOtherRunners()
    }

    /// How many messages wait for (or are in) the runtime for input `slot`, for status pages.
    func pendingCount(slot: Int) -> Int {
        loop.assertInEventLoop()
        return writer.pendingCount(slot: slot) + hold.count(slot: slot)
    }
}
