import FlowModel
import NIOCore
import PipeBridge
import RunnerProtocol

/// The last stage of delivery: writes messages to one runtime process and
/// keeps what that needs, and nothing else: the window of unacknowledged
/// frames, the acks, the write buffer and the commit ledger
/// (docs/architecture.md, "Delivery stages"). The stages in front of it (the
/// debugger, the swap hold) belong to the flow's `InstanceLink`.
///
/// Confined to the runner's event loop: every entry asserts it (debug builds).
/// Bounds: at most `window` unacknowledged frames are written to the process
/// (one while suspects are redelivered or the debugger has the flow); past
/// `highWater` queued messages the feeders stop being read (`QueueGates`).
final class InstanceWriter: @unchecked Sendable {
    let loop: any EventLoop
    let window: Int
    let highWater: Int
    /// Not counted: the runner's one `DataPath` outlives every writer (set at init, never nil),
    /// and a reference count per routed frame would cost.
    unowned(unsafe) let dataPath: DataPath
    /// Back pressure on the instances that feed this one (`addFeeder`, when the flow is wired).
    /// This and the window's fields below are internal only for this type's extension
    /// (`InstanceWriter+Process.swift`); no other type sets them.
    var gates: QueueGates

    private(set) var channel: (any Channel)?
    private var writeBuffer: ByteBuffer
    private var isDirty = false
    var inFlight = CircularBuffer<PendingMessage>()
    /// How many messages in flight came from another runner (0: a purely local link scans nothing per frame).
    var receiptsInFlight = 0
    var queued = CircularBuffer<PendingMessage>()
    var acked = 0
    /// Suspects (messages that were in flight when a process died) not yet
    /// acknowledged; they are at the front of the queue and are written one
    /// at a time, so that one that kills the process again is known.
    var careful = 0
    /// One frame at a time while the debugger has the flow (`oneAtATime`).
    private var single = false
    /// The current process's commits (docs/protocol.md, "Commits").
    private var ledger = CommitLedger()
    /// Counts processes: frames read from a process after it was detached are not its successor's.
    var life = 0
    /// Messages written to the current process since it was attached.
    var lifeWrites = 0
    /// The current process's time limit: silence while messages are in flight.
    let watch: SilenceWatch
    var blockedBy = 0
    /// Set while the runner's hold freezes the process: its silence is not a hang.
    private(set) var suspended = false
    /// Whether the runtime was told to send every message through the host (told again after a restart).
    private(set) var routeViaHost = false

    var effectiveWindow: Int { careful > 0 || single ? 1 : window }

    init(dataPath: DataPath, window: Int, queueBound: Int, cycleQueueBound: Int = 1_000_000) {
        self.loop = dataPath.loop
        self.dataPath = dataPath
        self.window = window
        self.highWater = queueBound
        self.gates = QueueGates(high: queueBound, cycleHigh: max(cycleQueueBound, queueBound))
        self.writeBuffer = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        self.watch = SilenceWatch(loop: dataPath.loop)
    }

    var queuedCount: Int { queued.count + inFlight.count }

    /// Nothing in flight and nothing waiting here.
    var isIdle: Bool { inFlight.isEmpty && queued.isEmpty }

    // MARK: messages in

    /// Queues a message; writes it at once when the window allows.
    @inline(__always)
    func accept(_ message: PendingMessage) {
        loop.assertInEventLoop()
        if channel != nil, queued.isEmpty, inFlight.count < effectiveWindow {
            write(message)
        } else {
            queued.append(message)
            gates.update(queued: queued.count)
        }
    }

    /// Writes a message now, whatever the window (a debugger step); queues it while the process restarts.
    func force(_ message: PendingMessage) {
        loop.assertInEventLoop()
        if channel != nil { write(message) } else { queued.append(message) }
    }

    /// At most one frame in flight (the debugger has the flow), or the window again.
    func oneAtATime(_ on: Bool) {
        loop.assertInEventLoop()
        single = on
        if !on { pump() }
    }

    /// Takes the queued messages that `keep` does not keep, in order (a swap holds them).
    /// A message taken is queued again later as a new one: no longer a suspect.
    func takeQueued(keeping keep: (PendingMessage) -> Bool) -> [PendingMessage] {
        loop.assertInEventLoop()
        var kept = CircularBuffer<PendingMessage>()
        var taken: [PendingMessage] = []
        while var m = queued.popFirst() {
            if keep(m) { kept.append(m); continue }
            if m.suspect { m.suspect = false; careful -= 1 }
            taken.append(m)
        }
        queued = kept
        return taken
    }

    // MARK: frames from the runtime

    /// `A<n>` from process `life`: the runtime finished its first n frames; the commit before it is kept.
    /// Returns whether anything was finished.
    @discardableResult
    func ack(_ count: Int, life: Int) -> Bool {
        loop.assertInEventLoop()
        guard life == self.life else { return false }
        ledger.acked()
        var done = count - acked
        guard done > 0 else { return false }
        acked = count
        while done > 0, var message = inFlight.popFirst() {
            done -= 1
            if message.suspect { careful -= 1 }
            if message.receipt != nil { receiptsInFlight -= 1 }
            message.complete()
        }
        pump()
        return true
    }

    /// The receipt of the oldest message in flight that came from another runner (nil: none did).
    @inline(__always)
    func oldestReceipt() -> InboundStream.Receipt? {
        guard receiptsInFlight > 0, let first = inFlight.first else { return nil }
        if let r = first.receipt { return r }
        return inFlight.first { $0.receipt != nil }?.receipt
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
    func takeChangedStates() -> [ModuleID: JSONValue] {
        loop.assertInEventLoop()
        return ledger.takeChangedStates()
    }

    /// Takes what the current process committed for `modules` (they leave it in a hot swap).
    func takeCommitted(_ modules: Set<ModuleID>) -> [ModuleID: RuntimeMessage.ModuleStats] {
        loop.assertInEventLoop()
        return ledger.take(modules)
    }

    /// What the process committed, for `detach`; the ledger starts afresh.
    func endLedger() -> [ModuleID: RuntimeMessage.ModuleStats] { ledger.end() }

    /// The process sent something (called once per read, not per frame).
    @inline(__always)
    func heard() { watch.heard() }

    // MARK: control frames

    /// Writes a control frame in order with the data frames (a `swap`).
    func writeControlFrame(_ bytes: ByteBuffer) -> Bool {
        loop.assertInEventLoop()
        guard channel != nil else { return false }
        var b = bytes
        writeBuffer.writeBuffer(&b)
        flush()
        return true
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

    /// A control frame without a body of its own (`report`, `mode`): in order with the data frames.
    func writeControl(_ frame: HostMessage) {
        try? FrameEncoder.write(frame, into: &writeBuffer)
        markDirty()
    }

    // MARK: writing

    @inline(__always)
    private func write(_ message: PendingMessage) {
        FrameEncoder.writeData(slot: message.slot, payload: message.payload, into: &writeBuffer)
        if inFlight.isEmpty { watch.inFlightBegan() }
        if message.receipt != nil { receiptsInFlight += 1 }
        inFlight.append(message)
        lifeWrites &+= 1
        markDirty()
    }

    @inline(__always)
    private func markDirty() {
        if !isDirty {
            isDirty = true
            dataPath.markDirty(self)
        }
    }

    /// Writes what the window allows from the queue.
    func pump() {
        guard channel != nil else { return }
        while inFlight.count < effectiveWindow, let next = queued.popFirst() { write(next) }
        gates.update(queued: queued.count)
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

    /// Connects the writer to a new process's channel (`attach`).
    func open(_ channel: any Channel) {
        self.channel = channel
        if routeViaHost { writeControl(.mode(.host)) }
        if blockedBy > 0 { _ = channel.setOption(ChannelOptions.autoRead, value: false) }
    }

    /// Disconnects the writer from its process (`detach`): what was buffered is dropped.
    func close() {
        channel = nil
        writeBuffer.clear()
        isDirty = false
    }

    /// The runner's hold freezes (or lets go on) the process: its silence is not a hang meanwhile.
    func suspend(_ on: Bool) {
        loop.assertInEventLoop()
        suspended = on
    }

    // MARK: back pressure

    /// `feeder` stops being read while this writer's queue is long (`onCycle`: only past the cycle bound).
    func addFeeder(_ feeder: InstanceWriter, onCycle: Bool) {
        loop.assertInEventLoop()
        gates.add(feeder, onCycle: onCycle)
    }

    /// Stops reading the process (one more reason to).
    func block() {
        loop.assertInEventLoop()
        blockedBy += 1
        if blockedBy == 1, let channel { _ = channel.setOption(ChannelOptions.autoRead, value: false) }
    }

    /// One reason fewer to stop reading the process.
    func unblock() {
        loop.assertInEventLoop()
        blockedBy = max(0, blockedBy - 1)
        if blockedBy == 0, let channel {
            _ = channel.setOption(ChannelOptions.autoRead, value: true)
            channel.read()
        }
    }
}
