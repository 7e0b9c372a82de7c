import FlowModel
import NIOCore
import PipeBridge
import RunnerProtocol

/// One message waiting for, or travelling to, a runtime instance: an input
/// slot and the payload bytes, never decoded. `suspect`: it was in flight
/// when a process died, so it is delivered again one at a time.
struct PendingMessage {
    var slot: Int
    var payload: ByteBuffer
    var suspect = false
    /// Set for a message from another runner: told when the message is done, for the stream's `ack`.
    var receipt: InboundStream.Receipt? = nil

    /// Tells the stream it came from that it is done (or taken over by this runner's own bookkeeping).
    @inline(__always)
    mutating func complete() {
        if let receipt {
            receipt.complete()
            self.receipt = nil
        }
    }
}

/// What a process that ended leaves behind (`InstanceLink.detach`).
struct ProcessEnd {
    /// The message to record as its module's error instead of delivering it again.
    var culprit: PendingMessage?
    /// What the process committed: counters and states after exactly the acknowledged messages.
    var committed: [ModuleID: RuntimeMessage.ModuleStats]
}

/// The data path of one runtime instance: where its frames go, what it has
/// not acknowledged yet, and what waits for room in its window.
///
/// Confined to the runner's event loop: every method must be called on `loop`.
/// Bounds: at most `window` unacknowledged frames are written to the instance;
/// past `highWater` queued messages the instances that feed this one stop
/// being read (back pressure, `upstream`) until the queue is back to half.
/// Feeders in a cycle of instances with this one stop only past the cycle
/// bound (`cycleUpstream`): a runtime blocked writing inside a handler cannot
/// run the module that would drain the cycle, so a bound that small would stall it.
final class InstanceLink: @unchecked Sendable {
    let loop: any EventLoop
    let flow: FlowID
    let runtime: RuntimeKind
    /// Input slot `i` is `slots[i]` (renumbered by a hot swap).
    private(set) var slots: [Endpoint]
    let window: Int
    let highWater: Int

    /// Route id → targets; set once by `DataPath.connect`.
    var routes: [ResolvedRoute] = []
    /// Instances with a route to this one (set by `DataPath.connect`): they
    /// stop being read while this one's queue is past `highWater`...
    var upstream: FeederGate
    /// ...except those this instance feeds too (through any path), which
    /// stop only past the cycle bound.
    var cycleUpstream: FeederGate
    /// Set by `DataPath.connect` before the link is attached (asserted there). Not counted:
    /// the runner's one `DataPath` lives as long as its `RunnerHost`, which outlives every
    /// flow and link it runs, and a reference count per routed frame would cost.
    unowned(unsafe) var dataPath: DataPath!
    /// Set while the flow's debugger watches or holds it: arriving messages go
    /// to the debugger, and at most one message is in flight.
    var debugger: FlowDebugger?
    /// The flow's debugger, always: told of acks, so it can tell when the flow is quiet.
    weak var watcher: FlowDebugger?
    /// During a hot swap: new messages wait here, except those for modules
    /// being removed (`drainSlots`), which finish what was queued for them.
    private var holding = false
    private var drainSlots: Set<Int> = []
    private var held = CircularBuffer<PendingMessage>()
    /// Set while the runner's hold freezes the process: its silence is not a hang.
    var suspended = false
    /// Whether the runtime was told to send every message through the host
    /// (told again after a restart).
    private(set) var routeViaHost = false

    private(set) var channel: (any Channel)?
    private var writeBuffer: ByteBuffer
    private var isDirty = false
    private var inFlight = CircularBuffer<PendingMessage>()
    /// How many messages in flight came from another runner (0: a purely local link scans nothing per frame).
    private var receiptsInFlight = 0
    private var queued = CircularBuffer<PendingMessage>()
    private var acked = 0
    /// Suspects (messages that were in flight when a process died) not yet
    /// acknowledged; they are at the front of the queue and are written one
    /// at a time, so that one that kills the process again is known.
    private var careful = 0
    /// The current process's commits (docs/protocol.md, "Commits").
    private var ledger = CommitLedger()
    /// Counts processes: frames read from a process after it was detached are not its successor's.
    private(set) var life = 0
    /// Messages written to the current process since it was attached.
    private var lifeWrites = 0
    /// The current process's time limit: silence while messages are in flight.
    private let watch: SilenceWatch
    private var effectiveWindow: Int { careful > 0 || debugger != nil ? 1 : window }
    private var blockedBy = 0
    /// Counters of the host side of this link.
    private(set) var routedOut = 0
    private(set) var delivered = 0

    init(loop: any EventLoop, flow: FlowID, runtime: RuntimeKind, slots: [Endpoint], window: Int, queueBound: Int,
         cycleQueueBound: Int = 1_000_000) {
        self.loop = loop
        self.flow = flow
        self.runtime = runtime
        self.slots = slots
        self.window = window
        self.highWater = queueBound
        self.upstream = FeederGate(high: queueBound)
        self.cycleUpstream = FeederGate(high: max(cycleQueueBound, queueBound))
        self.writeBuffer = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        self.watch = SilenceWatch(loop: loop)
    }

    var queuedCount: Int { queued.count + inFlight.count }

    // MARK: frames from the runtime

    /// A data frame from this instance: forward the payload to each target, or publish it.
    @inline(__always)
    func route(_ routeID: Int, payload: ByteBuffer) throws(FrameError) {
        loop.assertInEventLoop()
        guard routeID < routes.count else {
            throw FrameError(.badSlot, "route id \(routeID) is not one the host gave this instance (it has \(routes.count))")
        }
        let route = routes[routeID]
        routedOut &+= 1
        if let debugger { debugger.emitted(from: route.source, payload: payload) }
        if let output = route.output { dataPath.publish(flow: flow, source: output, payload: payload) }
        if let receipt = oldestReceipt() {
            // Caused by a frame from another runner: that frame is done only once this is done too.
            // Outputs come before the ack that covers their cause, so the cause is in flight; holding the
            // oldest receipt holds every later frame of its stream too (acks are cumulative).
            for target in route.targets {
                if target.sharesReceipt {
                    receipt.retain()
                    target.link.enqueue(slot: target.slot, payload: payload, receipt: receipt)
                } else {
                    target.link.enqueue(slot: target.slot, payload: payload)
                }
            }
        } else {
            for target in route.targets { target.link.enqueue(slot: target.slot, payload: payload) }
        }
        for target in route.elsewhere { dataPath.peers.send(flow: flow, target: target, payload: payload, from: self) }
    }

    /// The receipt of the oldest message in flight that came from another runner (nil: none did).
    @inline(__always)
    private func oldestReceipt() -> InboundStream.Receipt? {
        guard receiptsInFlight > 0, let first = inFlight.first else { return nil }
        if let r = first.receipt { return r }
        return inFlight.first { $0.receipt != nil }?.receipt
    }

    /// `A<n>` from process `life`: the runtime finished its first n frames; the commit before it is kept.
    func ack(_ count: Int, life: Int) {
        loop.assertInEventLoop()
        guard life == self.life else { return }
        ledger.acked()
        var done = count - acked
        guard done > 0 else { return }
        acked = count
        while done > 0, var message = inFlight.popFirst() {
            done -= 1
            if message.suspect { careful -= 1 }
            if message.receipt != nil { receiptsInFlight -= 1 }
            message.complete()
        }
        pump()
        watcher?.linkProgressed()
    }

    /// A `commit` frame from process `life`: kept when the next ack arrives.
    func stage(_ entries: [CommitScanner.Entry], life: Int) {
        loop.assertInEventLoop()
        guard life == self.life else { return }
        ledger.stage(entries)
    }

    /// A `commit` frame (not in the compact form) from process `life`.
    func stage(decoded modules: [ModuleID: RuntimeMessage.ModuleStats], life: Int) {
        loop.assertInEventLoop()
        guard life == self.life else { return }
        ledger.stage(decoded: modules)
    }

    /// The committed states that changed since the last call (`CommitLedger.takeChangedStates`).
    func takeChangedStates() -> [ModuleID: JSONValue] { ledger.takeChangedStates() }

    /// Takes what the current process committed for `modules` (they leave it in a hot swap).
    func takeCommitted(_ modules: Set<ModuleID>) -> [ModuleID: RuntimeMessage.ModuleStats] {
        loop.assertInEventLoop()
        return ledger.take(modules)
    }

    /// The process sent something (called once per read, not per frame).
    @inline(__always)
    func heard() { watch.heard() }

    // MARK: messages to the runtime

    /// A message for input `slot`: to the debugger when it has the flow, else on its way.
    /// A message from another runner carries its `receipt`, through the
    /// debugger too: it is done once processed.
    @inline(__always)
    func enqueue(slot: Int, payload: ByteBuffer, receipt: InboundStream.Receipt? = nil) {
        loop.assertInEventLoop()
        if let debugger {
            debugger.arrive(link: self, slot: slot, payload: payload, receipt: receipt)
            return
        }
        deliver(slot: slot, payload: payload, receipt: receipt)
    }

    /// Queues a message for input `slot`; writes it at once when the window allows.
    @inline(__always)
    func deliver(slot: Int, payload: ByteBuffer, receipt: InboundStream.Receipt? = nil) {
        loop.assertInEventLoop()
        if holding, !drainSlots.contains(slot) {
            held.append(PendingMessage(slot: slot, payload: payload, receipt: receipt))
            return
        }
        if channel != nil, queued.isEmpty, inFlight.count < effectiveWindow {
            write(PendingMessage(slot: slot, payload: payload, receipt: receipt))
        } else {
            queued.append(PendingMessage(slot: slot, payload: payload, receipt: receipt))
            upstream.update(queued: queued.count)
            cycleUpstream.update(queued: queued.count)
        }
    }

    /// Writes a message now, whatever the window (a debugger step); queues it while the instance restarts.
    func forceDeliver(slot: Int, payload: ByteBuffer, receipt: InboundStream.Receipt? = nil) {
        loop.assertInEventLoop()
        let message = PendingMessage(slot: slot, payload: payload, receipt: receipt)
        if channel != nil { write(message) } else { queued.append(message) }
    }

    // MARK: hot swap

    /// Holds every new message except those for `drain` slots; what waits in
    /// the queue for other slots is held too, in order.
    func beginHold(drain: Set<Int>) {
        loop.assertInEventLoop()
        holding = true
        drainSlots = drain
        var keep = CircularBuffer<PendingMessage>()
        while var m = queued.popFirst() {
            if drain.contains(m.slot) { keep.append(m); continue }
            // A held message is renumbered and queued again as a new one: no longer a suspect.
            if m.suspect { m.suspect = false; careful -= 1 }
            held.append(m)
        }
        queued = keep
    }

    /// The removed modules finished what was queued for them: from now on their
    /// messages are held too (before their states are read, so that nothing runs
    /// after that; held messages for a module that left go to its new place).
    func stopDraining() {
        loop.assertInEventLoop()
        drainSlots = []
    }

    /// Everything held (old slot numbers), oldest first; ends the hold.
    func endHold() -> [PendingMessage] {
        loop.assertInEventLoop()
        holding = false
        drainSlots = []
        var all = Array(held)
        held.removeAll()
        all.append(contentsOf: queued)
        queued.removeAll()
        for i in all.indices { all[i].complete() }
        return all
    }

    /// New tables after a swap (the runtime is idle and has the same ones).
    func replaceSlots(_ newSlots: [Endpoint]) {
        loop.assertInEventLoop()
        slots = newSlots
    }

    /// Writes a control frame in order with the data frames (a `swap`).
    func writeControlFrame(_ bytes: ByteBuffer) -> Bool {
        loop.assertInEventLoop()
        guard channel != nil else { return false }
        var b = bytes
        writeBuffer.writeBuffer(&b)
        flush()
        return true
    }

    /// Drops the references to other links (the flow is gone).
    func forget() {
        loop.assertInEventLoop()
        watch.disarm()
        routes = []
        upstream.feeders = []
        cycleUpstream.feeders = []
        debugger = nil
    }

    /// Lets the feeders of this link read again before the flow is rewired.
    func resetCongestion() {
        loop.assertInEventLoop()
        upstream.reset()
        cycleUpstream.reset()
    }

    /// Tells the runtime how to route (docs/protocol.md, "Debug routing"), in order with the data frames.
    func setRouting(viaHost: Bool) {
        loop.assertInEventLoop()
        guard viaHost != routeViaHost else { return }
        routeViaHost = viaHost
        if channel != nil { writeControl(.mode(viaHost ? .host : .direct)) }
    }

    /// Asks the runtime for every module's state (`{"t":"report"}`); false when no process is attached.
    func requestReport() -> Bool {
        loop.assertInEventLoop()
        guard channel != nil else { return false }
        writeControl(.report)
        flush()
        return true
    }


    /// A control frame without a body of its own (`report`, `mode`): constant bytes, in order with the data frames.
    private func writeControl(_ frame: HostMessage) {
        try? FrameEncoder.write(frame, into: &writeBuffer)
        if !isDirty {
            isDirty = true
            dataPath.markDirty(self)
        }
    }

    /// Nothing in flight and nothing waiting here (the debugger's held messages are not here).
    var isIdle: Bool { inFlight.isEmpty && queued.isEmpty }

    var heldCount: Int { held.count }

    /// Whether an API call may add a message now (the queue is under twice its bound).
    var acceptsInjection: Bool { queued.count < highWater * 2 && (debugger?.heldCount ?? 0) < highWater * 2 }

    @inline(__always)
    private func write(_ message: PendingMessage) {
        FrameEncoder.writeData(slot: message.slot, payload: message.payload, into: &writeBuffer)
        if inFlight.isEmpty { watch.inFlightBegan() }
        if message.receipt != nil { receiptsInFlight += 1 }
        inFlight.append(message)
        lifeWrites &+= 1
        delivered &+= 1
        if !isDirty {
            isDirty = true
            dataPath.markDirty(self)
        }
    }

    private func pump() {
        guard channel != nil else { return }
        while inFlight.count < effectiveWindow, let next = queued.popFirst() { write(next) }
        upstream.update(queued: queued.count)
        cycleUpstream.update(queued: queued.count)
    }

    /// Writes what accumulated since the last flush, in one write.
    func flush() {
        loop.assertInEventLoop()
        isDirty = false
        guard let channel, writeBuffer.readableBytes > 0 else { return }
        let buffer = writeBuffer
        writeBuffer = channel.allocator.buffer(capacity: max(64 * 1024, buffer.readableBytes))
        channel.writeAndFlush(buffer, promise: nil)
    }

    // MARK: back pressure

    func block() {
        loop.assertInEventLoop()
        blockedBy += 1
        if blockedBy == 1, let channel { _ = channel.setOption(ChannelOptions.autoRead, value: false) }
    }

    func unblock() {
        loop.assertInEventLoop()
        blockedBy = max(0, blockedBy - 1)
        if blockedBy == 0, let channel {
            _ = channel.setOption(ChannelOptions.autoRead, value: true)
            channel.read()
        }
    }

    // MARK: lifecycle

    /// The instance is ready: start writing to it, beginning with what waited.
    /// - Parameters:
    ///   - timeLimit: how long the process may send nothing while messages are in flight (nil: no limit).
    ///   - onSilence: told (once per silence) when it has been silent that long.
    func attach(_ channel: any Channel, timeLimit: TimeAmount? = nil, onSilence: (@Sendable (TimeAmount) -> Void)? = nil) {
        loop.assertInEventLoop()
        assert(dataPath != nil, "a link is connected to its data path before it is attached")
        self.channel = channel
        acked = 0
        lifeWrites = 0
        watch.arm(limit: timeLimit, onSilence: onSilence) { [unowned self] in
            self.blockedBy > 0 || self.suspended ? nil : !self.inFlight.isEmpty
        }
        if routeViaHost { writeControl(.mode(.host)) }
        if blockedBy > 0 { _ = channel.setOption(ChannelOptions.autoRead, value: false) }
        pump()
        flush()
    }

    /// The instance is gone. Unacknowledged messages go back to the front of
    /// the queue, in order, to be delivered again one at a time (suspects).
    /// Acks are cumulative per batch, so after a death the host cannot tell
    /// which message killed the process. A message is the culprit (returned,
    /// to be recorded as its module's error, and not delivered again) only
    /// when it was alone in flight for the whole life of the process that
    /// died with it and it was a suspect already (in flight at an earlier
    /// death too), or when the host itself killed the process because it
    /// went silent past its time limit (`timedOut`) while that message was
    /// alone in flight. So a kill from outside, also one during careful
    /// redelivery, blames no one, unless it hits a suspect that was alone in
    /// a fresh process.
    func detach(timedOut: Bool = false) -> ProcessEnd {
        loop.assertInEventLoop()
        channel = nil
        writeBuffer.clear()
        isDirty = false
        acked = 0
        life &+= 1
        watch.disarm()
        var culprit: PendingMessage?
        if inFlight.count == 1, timedOut || (lifeWrites == 1 && inFlight[inFlight.startIndex].suspect) {
            culprit = inFlight.popFirst()
            if culprit?.suspect == true { careful -= 1 }
            culprit?.complete()
        } else {
            for i in inFlight.indices where !inFlight[i].suspect {
                inFlight[i].suspect = true
                careful += 1
            }
        }
        lifeWrites = 0
        while let last = inFlight.popLast() { queued.prepend(last) }
        receiptsInFlight = 0
        return ProcessEnd(culprit: culprit, committed: ledger.end())
    }

    /// The oldest message in flight and how long the process has said nothing, while messages are in flight.
    func silence() -> (slot: Int, for: TimeAmount)? {
        loop.assertInEventLoop()
        guard channel != nil, blockedBy == 0, let first = inFlight.first else { return nil }
        return (first.slot, watch.silence)
    }

    /// A new connection to the dispatcher: messages from other runners (and what they caused here)
    /// that wait and have not been written to the runtime are dropped, not completed: their senders
    /// kept them unacknowledged and send them again on the new connection. Those in flight finish.
    func dropUnstartedFromOtherRunners() {
        loop.assertInEventLoop()
        guard queued.contains(where: { $0.receipt != nil }) || held.contains(where: { $0.receipt != nil }) else { return }
        var keep = CircularBuffer<PendingMessage>()
        for m in queued where m.receipt == nil { keep.append(m) }
        careful = inFlight.reduce(0) { $0 + ($1.suspect ? 1 : 0) } + keep.reduce(0) { $0 + ($1.suspect ? 1 : 0) }
        queued = keep
        var keptHeld = CircularBuffer<PendingMessage>()
        for m in held where m.receipt == nil { keptHeld.append(m) }
        held = keptHeld
        upstream.update(queued: queued.count)
        cycleUpstream.update(queued: queued.count)
    }

    /// Everything not yet acknowledged, oldest first (for moving to a new plan); empties the link.
    func takeAll() -> [PendingMessage] {
        loop.assertInEventLoop()
        var all = Array(inFlight)
        all.append(contentsOf: queued)
        all.append(contentsOf: held)
        held.removeAll()
        holding = false
        inFlight.removeAll()
        receiptsInFlight = 0
        queued.removeAll()
        careful = 0
        return all.map { m in
            var m = m
            m.complete()
            return PendingMessage(slot: m.slot, payload: m.payload)
        }
    }

    /// How many messages wait for (or are in) the runtime for input `slot`, for status pages.
    func pendingCount(slot: Int) -> Int {
        loop.assertInEventLoop()
        return inFlight.reduce(0) { $0 + ($1.slot == slot ? 1 : 0) } + queued.reduce(0) { $0 + ($1.slot == slot ? 1 : 0) }
            + held.reduce(0) { $0 + ($1.slot == slot ? 1 : 0) }
    }
}

/// A route id's targets, resolved to links and slots.
struct ResolvedRoute {
    struct Target {
        let link: InstanceLink
        let slot: Int
        /// Whether a message sent here keeps the cross-runner frame that caused it unacknowledged
        /// until it is done too: not when the target feeds back to the sender (a cycle within the
        /// runner would keep that frame unacknowledged for as long as the cycle runs).
        var sharesReceipt = true
    }
    var targets: [Target]
    /// Targets on other runners, by name.
    var elsewhere: [Endpoint] = []
    /// The output port the frames come from.
    var source: Endpoint
    /// The source port when it is a flow output.
    var output: Endpoint?
}
