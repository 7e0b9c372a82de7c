import FlowModel
import Foundation
import NIOCore
import RunnerProtocol

/// The debugger of one flow on the runner's event loop: holds the messages
/// of a paused flow per module, checks breakpoints as messages reach the
/// host, releases one message per module for a single step and records what
/// the step consumed and emitted.
///
/// Confined to `loop`. The debugger is a stage of delivery: while the flow is
/// watched or paused, every link of the flow diverts its arriving messages here
/// (`InstanceLink.divert(to:)`); in `direct` mode no link has it in its path and
/// routing runs at full speed.
final class FlowDebugger: @unchecked Sendable {
    let loop: any EventLoop
    private var links: [InstanceLink]
    private var machine = DebugStateMachine()
    private var breakpoints: [ModuleID: Breakpoint] = [:]
    /// Held messages per module, oldest first.
    private var held: [ModuleID: CircularBuffer<Held>] = [:]
    private var nextSeq = 0
    /// Set by `markStep`: the next step runs only messages that arrived before it (one tick of a flow
    /// spread over runners: what one runner's step sends to another waits for the next step there).
    private var stepLimit: Int?
    private(set) var hit: Hit?
    /// The message that hit the breakpoint passes it once when released.
    private var passSeq: Int?
    /// Set while `resume` releases held messages: a breakpoint hit then is
    /// reported by `resume`'s outcome, not by `onPause`.
    private var releasing = false
    private var recording: [ModuleID: StepRecord]?
    private let quiet: QuietWatch
    /// Reports `paused` (and which message hit) to the flow.
    private let onPause: @Sendable (Hit?) -> Void

    /// Call `load(_:)` on `loop` next.
    init(loop: any EventLoop, links: [InstanceLink], onPause: @escaping @Sendable (Hit?) -> Void) {
        self.loop = loop
        self.links = links
        self.onPause = onPause
        self.quiet = QuietWatch(loop: loop)
    }

    /// The flow's breakpoints as deployed.
    func load(_ breakpoints: [Breakpoint]) {
        loop.assertInEventLoop()
        for b in breakpoints { self.breakpoints[b.module] = b }
        apply(machine.breakpointsChanged(to: self.breakpoints.count))
    }

    /// Lets go of the links (the flow is being replaced or removed).
    func close() {
        loop.assertInEventLoop()
        detach()
        quiet.failAll(RunnerError.stopped(flow: links.first?.flow ?? FlowID("")))
    }

    var mode: DebugStateMachine.Mode { machine.mode }
    var allBreakpoints: [Breakpoint] { breakpoints.values.sorted { $0.module < $1.module } }

    // MARK: breakpoints

    func setBreakpoint(_ b: Breakpoint) {
        loop.assertInEventLoop()
        breakpoints[b.module] = b
        apply(machine.breakpointsChanged(to: breakpoints.count))
    }

    /// Returns whether there was one.
    func removeBreakpoint(_ module: ModuleID) -> Bool {
        loop.assertInEventLoop()
        guard breakpoints.removeValue(forKey: module) != nil else { return false }
        apply(machine.breakpointsChanged(to: breakpoints.count))
        return true
    }

    // MARK: messages

    /// A message reached the host for `link`, input `slot`.
    func arrive(link: InstanceLink, slot: Int, payload: ByteBuffer, receipt: InboundStream.Receipt? = nil) {
        loop.assertInEventLoop()
        guard links.contains(where: { $0 === link }) else {
            receipt?.complete()
            return
        }
        offer(Held(seq: nextSeq, link: link, slot: slot, endpoint: link.slots[slot], payload: payload, receipt: receipt), passing: passSeq)
        nextSeq += 1
    }

    /// Delivers, holds, or holds and pauses, as the state machine says; the
    /// message numbered `passing` (the one released from a breakpoint) does
    /// not stop at it again.
    private func offer(_ message: Held, passing: Int?) {
        let link = message.link, endpoint = message.endpoint
        let stopsHere = message.seq != passing && stops(message, at: endpoint.module)
        switch machine.arrived(stopsHere: stopsHere) {
        case .deliver:
            link.deliver(slot: message.slot, payload: message.payload, receipt: message.receipt)
        case .hold:
            held[endpoint.module, default: []].append(message)
        case .holdAndPause:
            held[endpoint.module, default: []].append(message)
            hit = Hit(module: endpoint.module, port: endpoint.port, payload: message.payload)
            passSeq = message.seq
            if !releasing { onPause(hit) }
        }
    }

    private func stops(_ message: Held, at module: ModuleID) -> Bool {
        guard let b = breakpoints[module] else { return false }
        return b.stops { try? JSONValue(parsing: Data(message.payload.readableBytesView), nesting: .userValue) }
    }

    /// A runtime of this flow sent `payload` from `source` (recorded during a step).
    func emitted(from source: Endpoint, payload: ByteBuffer) {
        loop.assertInEventLoop()
        guard recording != nil else { return }
        recording![source.module, default: StepRecord()].outputs[source.port, default: []].append(payload)
    }

    // MARK: pause, step, resume

    func pause() {
        loop.assertInEventLoop()
        let wasHolding = machine.isHoldingMessages
        apply(machine.pause())
        if !wasHolding { onPause(nil) }
    }

    /// Notes which messages wait now (the flow is paused and quiet): the next `beginStep` runs only those.
    func markStep() {
        loop.assertInEventLoop()
        stepLimit = nextSeq
    }

    /// Releases the oldest held message of each module (of those that waited at `markStep`, when
    /// it was called). Returns false when nothing is held.
    func beginStep() -> Bool {
        loop.assertInEventLoop()
        let limit = stepLimit ?? Int.max
        stepLimit = nil
        let hasQueued = held.values.contains { ($0.first?.seq ?? Int.max) < limit }
        let wasHolding = machine.isHoldingMessages
        switch machine.step(hasQueued: hasQueued) {
        case .busy:
            return false
        case .nothingToStep:
            if !wasHolding { attach(); setRouting(true); onPause(nil) }
            return false
        case .step(let first):
            apply(first)
            if !wasHolding { onPause(nil) }
        }
        recording = [:]
        hit = nil
        // In arrival order, so that modules of one instance run in the order their messages came.
        var batch: [(ModuleID, Held)] = []
        for module in held.keys where (held[module]?.first?.seq ?? Int.max) < limit {
            if let oldest = held[module]?.popFirst() { batch.append((module, oldest)) }
        }
        for (module, message) in batch.sorted(by: { $0.1.seq < $1.1.seq }) {
            let link = message.link
            recording![module, default: StepRecord()].inputs[message.endpoint.port, default: []].append(message.payload)
            link.forceDeliver(slot: message.slot, payload: message.payload, receipt: message.receipt)
        }
        for link in links { link.flush() }
        return true
    }

    /// Ends a step (after `whenQuiet`): what each module consumed and emitted.
    func finishStep() -> [ModuleID: StepRecord] {
        loop.assertInEventLoop()
        machine.stepFinished()
        let record = recording ?? [:]
        recording = nil
        return record
    }

    enum ResumeOutcome: Sendable {
        /// The flow was not holding anything.
        case notPaused
        case running
        /// A released message hit a breakpoint again: the flow holds messages, paused there.
        case pausedAgain(Hit)
    }

    /// Releases what is held; says whether the flow runs on or paused again
    /// at once (a held message reached a breakpoint).
    func resume() -> ResumeOutcome {
        loop.assertInEventLoop()
        // A mark not followed by its step (the dispatcher's step failed elsewhere) does not outlive the pause.
        stepLimit = nil
        guard machine.isHoldingMessages else { return .notPaused }
        recording = nil
        releasing = true
        apply(machine.resume())
        releasing = false
        if machine.isHoldingMessages, let hit { return .pausedAgain(hit) }
        return .running
    }

    // MARK: quiet

    /// Succeeds when no link of the flow (or of `only`) has a message in flight
    /// or waiting in its writer; fails after `timeout` (a runtime that does not answer).
    func whenQuiet(timeout: TimeAmount, only: [InstanceLink]? = nil) -> EventLoopFuture<Void> {
        loop.assertInEventLoop()
        return quiet.whenQuiet(only ?? links, flow: links.first?.flow ?? FlowID(""), timeout: timeout)
    }

    /// A link made progress (an ack): wake whoever waits for quiet.
    func linkProgressed() { quiet.progressed() }

    // MARK: hot swap

    /// The flow was rewired: new links (same objects for runtimes that stay)
    /// and held messages moved to the link and slot of their input now (`remap`), or dropped (returned).
    func relink(_ newLinks: [InstanceLink], remap: (Endpoint) -> (link: InstanceLink, slot: Int)?) -> [(Endpoint, ByteBuffer)] {
        loop.assertInEventLoop()
        links = newLinks
        for link in newLinks { link.report(to: self) }
        if machine.mode != .direct {
            for link in newLinks {
                link.divert(to: self)
                link.setRouting(viaHost: true)
            }
        }
        var dropped: [(Endpoint, ByteBuffer)] = []
        for module in held.keys {
            var kept = CircularBuffer<Held>()
            for m in held[module]! {
                if let (link, slot) = remap(m.endpoint) {
                    kept.append(Held(seq: m.seq, link: link, slot: slot, endpoint: m.endpoint, payload: m.payload, receipt: m.receipt))
                } else {
                    m.receipt?.complete()
                    dropped.append((m.endpoint, m.payload))
                }
            }
            held[module] = kept
        }
        return dropped
    }

    // MARK: status

    var heldCount: Int { held.values.reduce(0) { $0 + $1.count } }

    /// Held messages per module: how many, and the oldest few.
    func heldSummary(oldest: Int = 3) -> [ModuleID: (count: Int, oldest: [ByteBuffer])] {
        loop.assertInEventLoop()
        return held.compactMapValues { q in q.isEmpty ? nil : (q.count, Array(q.prefix(oldest).map(\.payload))) }
    }

    /// Everything held, oldest first, by input (when the flow is replaced).
    func takeHeld() -> [(Endpoint, ByteBuffer)] {
        loop.assertInEventLoop()
        let all = held.values.flatMap { $0 }.sorted { $0.seq < $1.seq }
        held.removeAll()
        for m in all { m.receipt?.complete() }
        return all.map { ($0.endpoint, $0.payload) }
    }

    // MARK: actions

    private func apply(_ action: DebugStateMachine.Action) {
        switch action {
        case .none:
            break
        case .routeViaHost:
            attach()
            setRouting(true)
        case .release(let routeDirect):
            let all = held.values.flatMap { $0 }.sorted { $0.seq < $1.seq }
            held.removeAll()
            hit = nil
            let pass = passSeq
            passSeq = nil
            if routeDirect { detach() }
            for message in all {
                if routeDirect {
                    message.link.deliver(slot: message.slot, payload: message.payload, receipt: message.receipt)
                } else {
                    // May stop at a breakpoint again (setting `hit` and `passSeq`); the rest is held then.
                    offer(message, passing: pass)
                }
            }
            for link in links { link.flush() }
            if routeDirect { setRouting(false) }
        }
    }

    /// Tells the runtimes of the flow how to route (`true`: through the host).
    private func setRouting(_ viaHost: Bool) { for link in links { link.setRouting(viaHost: viaHost) } }
    private func attach() { for link in links { link.divert(to: self) } }
    private func detach() { for link in links { link.undivert() } }
}

