import FlowModel
import NIOCore
import PipeBridge

/// One message waiting for, or travelling to, a runtime instance: an input
/// slot and the payload bytes, never decoded.
struct PendingMessage {
    var slot: Int
    var payload: ByteBuffer
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
    /// Whether the runtime was told to send every message through the host
    /// (told again after a restart).
    private(set) var routeViaHost = false

    private(set) var channel: (any Channel)?
    private var writeBuffer: ByteBuffer
    private var isDirty = false
    private var inFlight = CircularBuffer<PendingMessage>()
    private var queued = CircularBuffer<PendingMessage>()
    private var acked = 0
    /// Messages at the front of the queue that were in flight when the
    /// process died: they are written one at a time, so that if one of them
    /// kills the process again, it is known to be the culprit.
    private var careful = 0
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
    }

    var queuedCount: Int { queued.count + inFlight.count }

    // MARK: frames from the runtime

    /// A data frame from this instance: forward the payload to each target, or publish it.
    @inline(__always)
    func route(_ routeID: Int, payload: ByteBuffer) throws(FrameError) {
        guard routeID < routes.count else {
            throw FrameError(.badSlot, "route id \(routeID) is not one the host gave this instance (it has \(routes.count))")
        }
        let route = routes[routeID]
        routedOut &+= 1
        if let debugger { debugger.emitted(from: route.source, payload: payload) }
        if let output = route.output { dataPath.publish(flow: flow, source: output, payload: payload) }
        for target in route.targets { target.link.enqueue(slot: target.slot, payload: payload) }
    }

    /// `A<n>`: the runtime finished its first n frames.
    func ack(_ count: Int) {
        var done = count - acked
        guard done > 0 else { return }
        acked = count
        while done > 0, inFlight.popFirst() != nil {
            done -= 1
            if careful > 0 { careful -= 1 }
        }
        pump()
        watcher?.linkProgressed()
    }

    // MARK: messages to the runtime

    /// A message for input `slot`: to the debugger when it has the flow, else on its way.
    @inline(__always)
    func enqueue(slot: Int, payload: ByteBuffer) {
        if let debugger {
            debugger.arrive(link: self, slot: slot, payload: payload)
            return
        }
        deliver(slot: slot, payload: payload)
    }

    /// Queues a message for input `slot`; writes it at once when the window allows.
    @inline(__always)
    func deliver(slot: Int, payload: ByteBuffer) {
        if holding, !drainSlots.contains(slot) {
            held.append(PendingMessage(slot: slot, payload: payload))
            return
        }
        if channel != nil, queued.isEmpty, inFlight.count < effectiveWindow {
            write(PendingMessage(slot: slot, payload: payload))
        } else {
            queued.append(PendingMessage(slot: slot, payload: payload))
            upstream.update(queued: queued.count)
            cycleUpstream.update(queued: queued.count)
        }
    }

    /// Writes a message now, whatever the window (a debugger step); queues it while the instance restarts.
    func forceDeliver(slot: Int, payload: ByteBuffer) {
        if channel != nil { write(PendingMessage(slot: slot, payload: payload)) } else { queued.append(PendingMessage(slot: slot, payload: payload)) }
    }

    // MARK: hot swap

    /// Holds every new message except those for `drain` slots; what waits in
    /// the queue for other slots is held too, in order.
    func beginHold(drain: Set<Int>) {
        holding = true
        drainSlots = drain
        var keep = CircularBuffer<PendingMessage>()
        while let m = queued.popFirst() {
            if drain.contains(m.slot) { keep.append(m) } else { held.append(m) }
        }
        queued = keep
    }

    /// Everything held (old slot numbers), oldest first; ends the hold.
    func endHold() -> [PendingMessage] {
        holding = false
        drainSlots = []
        var all = Array(held)
        held.removeAll()
        all.append(contentsOf: queued)
        queued.removeAll()
        return all
    }

    /// New tables after a swap (the runtime is idle and has the same ones).
    func replaceSlots(_ newSlots: [Endpoint]) {
        slots = newSlots
    }

    /// Writes a control frame in order with the data frames (a `swap`).
    func writeControlFrame(_ bytes: ByteBuffer) -> Bool {
        guard channel != nil else { return false }
        var b = bytes
        writeBuffer.writeBuffer(&b)
        flush()
        return true
    }

    /// Drops the references to other links (the flow is gone).
    func forget() {
        routes = []
        upstream.feeders = []
        cycleUpstream.feeders = []
        debugger = nil
    }

    /// Lets the feeders of this link read again before the flow is rewired.
    func resetCongestion() {
        upstream.reset()
        cycleUpstream.reset()
    }

    /// Tells the runtime how to route (docs/protocol.md, "Debug routing"), in order with the data frames.
    func setRouting(viaHost: Bool) {
        guard viaHost != routeViaHost else { return }
        routeViaHost = viaHost
        if channel != nil { writeControl(viaHost ? Self.modeHost : Self.modeDirect) }
    }

    /// Asks the runtime for every module's state (`{"t":"report"}`); false when no process is attached.
    func requestReport() -> Bool {
        guard channel != nil else { return false }
        writeControl("{\"t\":\"report\"}\n")
        flush()
        return true
    }

    private static let modeHost = "{\"t\":\"mode\",\"via\":\"host\"}\n"
    private static let modeDirect = "{\"t\":\"mode\",\"via\":\"direct\"}\n"

    private func writeControl(_ frame: String) {
        writeBuffer.writeString(frame)
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
        inFlight.append(message)
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
        isDirty = false
        guard let channel, writeBuffer.readableBytes > 0 else { return }
        let buffer = writeBuffer
        writeBuffer = channel.allocator.buffer(capacity: max(64 * 1024, buffer.readableBytes))
        channel.writeAndFlush(buffer, promise: nil)
    }

    // MARK: back pressure

    func block() {
        blockedBy += 1
        if blockedBy == 1, let channel { _ = channel.setOption(ChannelOptions.autoRead, value: false) }
    }

    func unblock() {
        blockedBy = max(0, blockedBy - 1)
        if blockedBy == 0, let channel {
            _ = channel.setOption(ChannelOptions.autoRead, value: true)
            channel.read()
        }
    }

    // MARK: lifecycle

    /// The instance is ready: start writing to it, beginning with what waited.
    func attach(_ channel: any Channel) {
        self.channel = channel
        acked = 0
        if routeViaHost { writeControl(Self.modeHost) }
        if blockedBy > 0 { _ = channel.setOption(ChannelOptions.autoRead, value: false) }
        pump()
        flush()
    }

    /// The instance is gone. Unacknowledged messages go back to the front of
    /// the queue, in order, to be delivered again one at a time. Acks are
    /// cumulative per batch, so after a first death the host cannot tell which
    /// message killed the process; when it dies again on a message sent one
    /// at a time, that message is the culprit: it is returned (to be recorded
    /// as the module's error) and not delivered again.
    func detach() -> PendingMessage? {
        channel = nil
        writeBuffer.clear()
        isDirty = false
        acked = 0
        var culprit: PendingMessage?
        if careful > 0, let first = inFlight.popFirst() {
            culprit = first
            careful -= 1
        } else {
            careful += inFlight.count
        }
        while let last = inFlight.popLast() { queued.prepend(last) }
        return culprit
    }

    /// Everything not yet acknowledged, oldest first (for moving to a new plan); empties the link.
    func takeAll() -> [PendingMessage] {
        var all = Array(inFlight)
        all.append(contentsOf: queued)
        all.append(contentsOf: held)
        held.removeAll()
        holding = false
        inFlight.removeAll()
        queued.removeAll()
        careful = 0
        return all
    }

    /// The oldest few queued payloads per slot, for status pages.
    func pendingCount(slot: Int) -> Int {
        inFlight.reduce(0) { $0 + ($1.slot == slot ? 1 : 0) } + queued.reduce(0) { $0 + ($1.slot == slot ? 1 : 0) }
            + held.reduce(0) { $0 + ($1.slot == slot ? 1 : 0) }
    }
}

/// A route id's targets, resolved to links and slots.
struct ResolvedRoute {
    struct Target {
        let link: InstanceLink
        let slot: Int
    }
    var targets: [Target]
    /// The output port the frames come from.
    var source: Endpoint
    /// The source port when it is a flow output.
    var output: Endpoint?
}
