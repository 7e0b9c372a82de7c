import FlowModel
import NIOConcurrencyHelpers
import NIOCore
import Foundation
import Logging
import PipeBridge
import RunnerProtocol

/// The dispatcher's flows: their documents, revisions and whether they were
/// started, kept in the state directory, and placed on the runners (the
/// embedded one and those that joined). Changes to flows are applied one at
/// a time. The registry talks to every runner through `RunnerLink`s and does
/// not know which kind it talks to.
public actor FlowRegistry {
    var flows: [FlowID: StoredFlow] = [:] { didSet { refreshTrust() } }
    /// Each module's counters across the runners it ran on (`carryCounters`).
    var carriedCounters: [FlowModuleID: CarriedCounters] = [:]
    /// The revision before the current one of each flow that changed (a frame sent before a hot swap stays welcome).
    private var previousDocuments: [FlowID: FlowDocument] = [:]
    private let store: StateStore
    let directory: RunnerDirectory
    let gate = SerialGate()
    let logger: Logger
    /// Where every module of every flow runs (or why it runs nowhere).
    var placement: [FlowModuleID: ModulePlacement] = [:] { didSet { refreshTrust() } }
    /// The runners each flow is deployed on, with the routes each was last given.
    var deployedOn: [FlowID: [RunnerID: DeployedPart]] = [:]

    /// What one runner was last sent of a flow: sent again only when something in it changed.
    struct DeployedPart: Equatable {
        var session: Int
        var placed: [ModuleID: Int]
        var routes: [RemoteRoute]
        var flow: FlowDocument
        var breakpoints: [Breakpoint]
    }

    public init(store: StateStore, directory: RunnerDirectory, logger: Logger) {
        self.store = store
        self.directory = directory
        self.logger = logger
    }

    /// Brings back the flows of the state directory, starting those that were running where they can be placed.
    public func restore() async throws {
        try store.prepare()
        let (all, unreadable) = store.loadAll()
        for problem in unreadable { logger.error("could not restore a flow: \(problem)") }
        await gate.runQuietly {
            for stored in all { await self.restoreNow(stored) }
        }
    }

    private func restoreNow(_ stored: StoredFlow) async {
        flows[stored.flow.id] = stored
        placement = await placeAll()
        do {
            try await deployParts(stored.flow, breakpoints: stored.breakpoints, revision: stored.revision, start: false,
                                  states: stored.restorableStates)
            if stored.started { try await sendToParts(stored.flow.id, .start(stored.flow.id)) }
        } catch {
            logger.error("could not restore flow \(stored.flow.id): \(error)")
        }
    }

    /// Validates, deploys and stores a flow; a new flow is started unless `start` is false.
    /// Returns the new revision.
    @discardableResult
    public func addOrUpdate(_ json: JSONValue, expectedRevision: Int? = nil, start: Bool? = nil) async throws -> Int {
        let flow: FlowDocument
        do { flow = try FlowValidator(requireInlineCode: true).validate(json) } catch { throw APIError.validation(error) }
        return try await gate.run {
            try await self.apply(flow, expectedRevision: expectedRevision, start: start)
        }
    }

    private func apply(_ flow: FlowDocument, expectedRevision: Int?, start: Bool?) async throws -> Int {
        let existing = flows[flow.id]
        if let expectedRevision, expectedRevision != (existing?.revision ?? 0) {
            throw APIError.conflict(flow.id, expected: expectedRevision, actual: existing?.revision ?? 0)
        }
        // Breakpoints stay with the modules that still exist.
        let breakpoints = (existing?.breakpoints ?? []).filter { flow.module($0.module) != nil }
        let revision = (existing?.revision ?? 0) + (existing?.flow == flow ? 0 : 1)
        let shouldStart = start ?? (existing?.started ?? true)
        // A new flow that starts does it in the deploy: its first start is its load check.
        let startsNow = existing == nil && shouldStart
        var stored = StoredFlow(flow: flow, revision: revision, started: startsNow || (existing?.started ?? false), breakpoints: breakpoints,
                                moduleStates: existing?.moduleStates ?? [:], statesSavedAt: existing?.statesSavedAt)
        let before = (flows, placement)
        if let old = existing?.flow, old != flow { previousDocuments[flow.id] = old }
        flows[flow.id] = stored
        placement = await placeAll()
        do {
            try await deployParts(flow, breakpoints: breakpoints, revision: revision, start: startsNow, states: [:], previous: before.1,
                                  startNewParts: existing?.started ?? false)
        } catch {
            (flows, placement) = before
            if existing == nil { await removeParts(flow.id) }
            throw error
        }
        if shouldStart && !stored.started {
            do {
                try await sendToParts(flow.id, .start(flow.id))
            } catch {
                // A new flow that does not start (an `init` threw) is not deployed either.
                if existing == nil {
                    await removeParts(flow.id)
                    (flows, placement) = before
                }
                throw error
            }
            stored.started = true
        }
        try save(stored)
        return stored.revision
    }

    public func remove(_ id: FlowID) async throws {
        try await gate.run {
            try await self.removeNow(id)
        }
    }

    private func removeNow(_ id: FlowID) async throws {
        guard flows[id] != nil else { throw APIError.runner(RunnerError.unknownFlow(id)) }
        try await sendToParts(id, .remove(id))
        deployedOn[id] = nil
        previousDocuments[id] = nil
        carriedCounters = carriedCounters.filter { $0.key.flow != id }
        flows[id] = nil
        for key in placement.keys where key.flow == id { placement[key] = nil }
        store.delete(id)
    }

    public func setRunning(_ id: FlowID, _ running: Bool) async throws {
        try await gate.run {
            try await self.setRunningNow(id, running)
        }
    }

    private func setRunningNow(_ id: FlowID, _ running: Bool) async throws {
        guard flows[id] != nil else { throw APIError.runner(RunnerError.unknownFlow(id)) }
        try await sendToParts(id, running ? .start(id) : .stop(id))
        // A stopped flow's final states are kept here at once: a runner that dies before its next
        // report must not make the next start go back to an older save.
        if !running, let statuses = try? await runnerStatus(id) { saveStates(statuses) }
        guard var stored = flows[id] else { return }
        stored.started = running
        try save(stored)
    }

    /// Sends `payload` to a module's input through the dispatcher's inject stream
    /// (`InjectSource`): kept until its runner says it is done, so a runner lost
    /// meanwhile loses nothing; waits (bounded) while the module has no place.
    public func inject(_ target: FlowModuleID, port: PortName?, payload: JSONValue) async throws {
        guard let stored = flows[target.flow] else {
            throw APIError.runner(RunnerError.unknownFlow(target.flow))
        }
        func refuse(_ error: RunnerError) -> APIError { .runner(error) }
        guard let spec = stored.flow.module(target.module) else {
            throw refuse(.unknownModule(target.flow, target.module, known: stored.flow.modules.map(\.id.rawValue)))
        }
        guard let port = port ?? spec.inputs.first, spec.inputs.contains(port) else {
            throw refuse(.unknownPort(target, port ?? PortName("in"), known: spec.inputs.map(\.rawValue)))
        }
        guard stored.started else { throw refuse(.notRunning(target.flow)) }
        let text = payload.jsonText
        // The frame is `D<slot> <payload>`: refuse what a runtime could not read, before it is queued.
        if text.utf8.count + 12 > PipeProtocol.defaultMaxFrameBytes {
            throw refuse(.payloadTooLarge(target, bytes: text.utf8.count, limit: PipeProtocol.defaultMaxFrameBytes))
        }
        let accepted = await directory.injector.inject(flow: target.flow, target: Endpoint(module: target.module, port: port),
                                                       payload: ByteBuffer(string: text))
        if !accepted { throw refuse(.saturated(target)) }
    }

    // MARK: debugger

    public func setBreakpoint(_ target: FlowModuleID, condition: JSONValue?) async throws {
        let parsed: BreakCondition?
        do { parsed = try condition.map { json throws(BreakConditionError) in try BreakCondition(json: json) } } catch {
            throw APIError.invalidParams("setBreakPointAtModule: \(error.description)")
        }
        try await gate.run { try await self.setBreakpointNow(Breakpoint(module: target.module, condition: parsed), in: target.flow) }
    }

    private func setBreakpointNow(_ breakpoint: Breakpoint, in flow: FlowID) async throws {
        var stored = try stored(flow)
        if let runner = try? await runnerOf(FlowModuleID(flow: flow, module: breakpoint.module)) {
            try check(await runner.send(.setBreakpoint(flow: flow, breakpoint)))
        } else if stored.flow.module(breakpoint.module) == nil {
            throw APIError.runner(RunnerError.unknownModule(flow, breakpoint.module, known: stored.flow.modules.map(\.id.rawValue)))
        }
        stored.breakpoints.removeAll { $0.module == breakpoint.module }
        stored.breakpoints.append(breakpoint)
        stored.breakpoints.sort { $0.module < $1.module }
        try save(stored)
    }

    /// Returns whether there was a breakpoint there.
    public func removeBreakpoint(_ target: FlowModuleID) async throws -> Bool {
        try await gate.run { try await self.removeBreakpointNow(target) }
    }

    private func removeBreakpointNow(_ target: FlowModuleID) async throws -> Bool {
        var stored = try stored(target.flow)
        let had = stored.breakpoints.contains { $0.module == target.module }
        if let runner = try? await runnerOf(target) { try check(await runner.send(.removeBreakpoint(flow: target.flow, module: target.module))) }
        stored.breakpoints.removeAll { $0.module == target.module }
        try save(stored)
        return had
    }

    /// One step of a flow, or of every paused flow: every runner of the flow steps its part, the results are merged.
    /// One tick of the flow wherever its modules run (docs/debugging.md, "Across runners"): with
    /// more than one runner, every runner first notes which messages wait (`markStep`), then each
    /// steps only those, so what one runner's step sends to another waits for the next step. A
    /// runner that does not know `markStep` (an older one) steps as before.
    public func step(_ id: FlowID?) async throws -> JSONValue {
        if let id { _ = try stored(id) }
        var merged: [String: JSONValue] = [:]
        let links = await links(of: id)
        if links.count > 1 {
            for (runner, link) in links {
                let reply = await link.send(.markStep(id))
                if case .failure(let code, let message) = reply, !code.isUnknownCommand {
                    throw APIError.runner(code: code, message: "on runner \(runner): \(message)")
                }
            }
        }
        for (_, link) in links {
            let reply = await link.send(.step(id))
            try check(reply)
            if case .step(.object(let part)) = reply { merged.merge(part) { a, _ in a } }
        }
        return .object(merged)
    }

    public func resume(_ id: FlowID) async throws -> Bool {
        _ = try stored(id)
        var any = false
        for (_, link) in await links(of: id) {
            let reply = await link.send(.resume(id))
            try check(reply)
            if case .bool(true) = reply { any = true }
        }
        return any
    }

    /// A runner of `flow` paused it (a breakpoint): the flow's other runners hold their part too.
    public func pauseElsewhere(_ flow: FlowID, except runner: RunnerID) async {
        for (id, link) in await links(of: flow) where id != runner { _ = await link.send(.pause(flow)) }
    }

    public func stored(_ id: FlowID) throws -> StoredFlow {
        guard let stored = flows[id] else { throw APIError.runner(RunnerError.unknownFlow(id)) }
        return stored
    }

    public func all() -> [StoredFlow] { flows.values.sorted { $0.flow.id < $1.flow.id } }

    /// How long `status` waits for a runner before it answers without it (its modules `unreachable`).
    static let statusWait: Duration = .seconds(2)

    /// Each flow's status, merged over the runners it is placed on (modules and instances say which runner).
    /// The runners are asked at once. One that does not answer within `statusWait` (suspect, its
    /// connection gone, or silent to `status` while it answers pings) does not hold it up: its modules
    /// show `unreachable`, with their last saved state, and the flow `degraded`. What a runner says is
    /// taken only for the modules placed on it (`RunnerTrust`): parts for flows it has no module of,
    /// and modules placed elsewhere, are dropped.
    public func runnerStatus(_ id: FlowID?) async throws -> [FlowRunStatus] {
        var parts: [FlowID: [FlowRunStatus]] = [:]
        var unreachable: [RunnerID: String] = [:]
        let suspects = await directory.suspects()
        var asked: [(RunnerID, any RunnerLink)] = []
        for (runner, link) in await links(of: id) {
            if suspects.contains(runner) {
                unreachable[runner] = "runner \(runner) is suspect: no heartbeat for 2 intervals"
            } else {
                asked.append((runner, link))
            }
        }
        let wait = Self.statusWait
        let replies = await withTaskGroup(of: (RunnerID, RunnerReply?).self) { group in
            for (runner, link) in asked {
                group.addTask { (runner, await Self.reply(within: wait) { await link.send(.status(id)) }) }
            }
            var out: [(RunnerID, RunnerReply?)] = []
            for await r in group { out.append(r) }
            return out.sorted { $0.0 < $1.0 }
        }
        for (runner, reply) in replies {
            switch reply {
            case nil:
                unreachable[runner] = "runner \(runner) did not answer status within \(wait)"
            case .status(let list)?:
                for var s in list {
                    let hostsPart = placement.contains { $0.key.flow == s.flow && $0.value.runner == runner }
                    guard flows[s.flow] != nil, hostsPart else {
                        logger.warning("runner \(runner) reported on flow \(s.flow), which has no module placed there: ignored")
                        continue
                    }
                    let mine = s.modules.filter { placement[FlowModuleID(flow: s.flow, module: $0.id)]?.runner == runner }
                    if mine.count < s.modules.count, runner != .local {
                        logger.warning("runner \(runner) reported modules of flow \(s.flow) placed elsewhere: ignored")
                    }
                    s.modules = mine
                    for i in s.modules.indices { s.modules[i].runner = runner.rawValue }
                    for i in s.instances.indices { s.instances[i].runner = runner.rawValue }
                    parts[s.flow, default: []].append(s)
                }
            case .failure(let code, let message)?:
                if code.isUnreachable {
                    unreachable[runner] = message
                } else if id != nil, code != .unknownFlow {
                    throw APIError.runner(code: code, message: message)
                }
            default: break
            }
        }
        let ids = id.map { [$0] } ?? flows.keys.sorted()
        var merged: [FlowRunStatus] = []
        for flowID in ids {
            guard let stored = flows[flowID] else { continue }
            var injected: [ModuleID: Int] = [:]
            let answered = Set((parts[flowID] ?? []).flatMap { $0.modules.map(\.id) })
            for m in stored.flow.modules where !answered.contains(m.id) {
                injected[m.id] = await directory.injector.queued(flow: flowID, module: m.id)
            }
            var status = FlowStatusMerge.merge(flow: stored.flow, parts: parts[flowID] ?? [], placement: placement,
                                               unreachable: unreachable, savedStates: stored.restorableStates, injected: injected)
            carryCounters(&status)
            // Injected messages sent again count too.
            for (module, n) in await directory.injector.redelivered(flow: flowID) {
                status.redelivered = status.redelivered ?? [:]
                status.redelivered![module.rawValue, default: 0] += n
            }
            merged.append(status)
        }
        return merged
    }

    /// A module's counters as last seen on the runner it ran on, and what it counted before (elsewhere).
    struct CarriedCounters {
        var runner: String
        var base = (messagesIn: 0, messagesOut: 0, errors: 0)
        var last = (messagesIn: 0, messagesOut: 0, errors: 0)
    }

    /// A module's counters go on across moves, as its state does: a runner counts from 0 what runs
    /// on it, so what the module counted on the runners before is added (as last seen there). A
    /// module that does not answer now shows what it last counted.
    func carryCounters(_ status: inout FlowRunStatus) {
        for i in status.modules.indices {
            let m = status.modules[i]
            let key = FlowModuleID(flow: status.flow, module: m.id)
            guard let runner = m.runner else { continue }
            var c = carriedCounters[key] ?? CarriedCounters(runner: runner)
            if m.state == .unreachable {
                status.modules[i].messagesIn = c.base.messagesIn + c.last.messagesIn
                status.modules[i].messagesOut = c.base.messagesOut + c.last.messagesOut
                status.modules[i].errors = c.base.errors + c.last.errors
                continue
            }
            let now = (messagesIn: m.messagesIn, messagesOut: m.messagesOut, errors: m.errors)
            if c.runner != runner {
                c.base = (c.base.messagesIn + c.last.messagesIn, c.base.messagesOut + c.last.messagesOut, c.base.errors + c.last.errors)
                c.runner = runner
            }
            c.last = now
            carriedCounters[key] = c
            status.modules[i].messagesIn += c.base.messagesIn
            status.modules[i].messagesOut += c.base.messagesOut
            status.modules[i].errors += c.base.errors
        }
    }

    /// `ask`'s reply, or nil when it takes longer than `wait` (`ask` goes on in the background
    /// until the link's own command timeout: a command cannot be taken back).
    static func reply(within wait: Duration, _ ask: @escaping @Sendable () async -> RunnerReply) async -> RunnerReply? {
        let answered = NIOLockedValueBox(false)
        return await withCheckedContinuation { (c: CheckedContinuation<RunnerReply?, Never>) in
            func answer(_ r: RunnerReply?) {
                if answered.withLockedValue({ a in defer { a = true }; return !a }) { c.resume(returning: r) }
            }
            let timer = Task { try? await Task.sleep(for: wait); answer(nil) }
            Task { answer(await ask()); timer.cancel() }
        }
    }

    /// The runtimes of the live runners, each with the runners that have it (`listRuntimes` is their union).
    public func runtimes() async -> [RuntimeKind: [(RunnerID, RunnerHello.Runtime)]] {
        await directory.runtimes()
    }

    /// Passes a command that concerns no flow (dependency environments) to the embedded runner
    /// (environments of joined runners are built by their deploys; managing them through the API is not wired yet).
    func sendToRunner(_ command: RunnerCommand) async -> RunnerReply {
        guard let link = await directory.link(.local) else {
            return .failure(code: .noLocalRunner, message: "dependency environments are managed on the embedded runner, and this server runs none (--no-local-runner)")
        }
        return await link.send(command)
    }

    // MARK: module states

    /// Saves each flow's module states where they changed since the last save.
    public func persistModuleStates() async {
        guard let statuses = try? await runnerStatus(nil) else { return }
        await gate.runQuietly {
            await self.saveStates(statuses)
        }
    }

    /// A runner's `states` report (docs/runner-protocol.md): the latest `state` of modules it runs,
    /// kept and saved like the periodic save's, so that a module placed elsewhere after its runner
    /// is lost starts from it (the periodic save alone may be up to one interval older, or miss a
    /// runner that closed in between). Reports for a module placed elsewhere, or at another
    /// generation, are ignored.
    func noteStates(_ flow: FlowID, from runner: RunnerID, _ reports: [ModuleStateReport]) {
        guard var stored = flows[flow] else { return }
        var states = stored.moduleStates
        for r in reports where placement[FlowModuleID(flow: flow, module: r.module)] == .placed(runner, gen: r.gen) {
            states[r.module.rawValue] = r.state
        }
        guard states != stored.moduleStates else { return }
        stored.moduleStates = states
        stored.statesSavedAt = Date()
        do { try save(stored) } catch { logger.error("could not save module states of flow \(flow): \(error)") }
    }

    private func saveStates(_ statuses: [FlowRunStatus]) {
        for status in statuses {
            guard var stored = flows[status.flow] else { continue }
            var states = stored.moduleStates
            for m in status.modules { if let s = m.moduleState { states[m.id.rawValue] = s } }
            guard states != stored.moduleStates else { continue }
            stored.moduleStates = states
            stored.statesSavedAt = Date()
            do { try save(stored) } catch { logger.error("could not save module states of flow \(status.flow): \(error)") }
        }
    }

    /// At shutdown: stops every flow (its runtimes report their final
    /// states), saves the states, and leaves `started` as it was, so that
    /// the next start runs what ran.
    public func stopAllAndSaveStates() async {
        await gate.runQuietly { await self.stopAllNow() }
    }

    private func stopAllNow() async {
        for id in flows.keys.sorted() { try? await sendToParts(id, .stop(id)) }
        if let statuses = try? await runnerStatus(nil) { saveStates(statuses) }
    }

    /// What each runner may speak for follows placement and the flows (`RunnerTrust`).
    private func refreshTrust() {
        var revisions: [FlowID: RunnerTrust.Revisions] = [:]
        for (id, stored) in flows { revisions[id] = .init(current: stored.flow, previous: previousDocuments[id]) }
        let placement = self.placement
        directory.updateTrust { $0.next(flows: revisions, placement: placement) }
    }

    private func save(_ stored: StoredFlow) throws {
        try store.save(stored)
        flows[stored.flow.id] = stored
    }

}
