import FlowModel
import Foundation
import Logging
import NIOCore
import NIOPosix
import PipeBridge
import RunnerProtocol

/// Runs the modules of flows on local runtime instances. One instance per
/// (flow, `InstanceKey`): per runtime, and per dependency environment for
/// modules with `dependencies`. A crash in one flow touches no other.
///
/// The dispatcher talks to it through `RunnerCommand`s (see `LocalRunnerLink`),
/// the same messages a remote runner will receive over WebSocket.
public actor RunnerHost {
    private let configuration: RunnerConfiguration
    private let locator: RuntimeLocator
    private let dataPath: DataPath
    private let logger: Logger
    private let emit: @Sendable (RunnerEvent) -> Void
    private var runtimes: [RuntimeKind: RuntimeInfo] = [:]
    private var located = false
    /// The search for runtimes under way (callers that arrive meanwhile wait for the same one).
    private var locating: Task<[RuntimeInfo], Never>?
    var flows: [FlowID: FlowRun] = [:]
    /// Per flow: the whole document and which of its modules run here (from the last deploy).
    private var placements: [FlowID: (full: FlowDocument, placed: [PlacedModule], routes: [RemoteRoute])] = [:]
    /// The dependency environments of this runner (see `RunnerHost+Environments`).
    let environments: EnvironmentStore
    /// Whether the runner holds every flow (`holdAll`): its dispatcher fell silent.
    public private(set) var holding = false
    /// Retries of refused routes and ends of hand-overs, when no traffic does it (`PeerRouter.tick`).
    private let peerTicks: RepeatedTask

    public init(configuration: RunnerConfiguration, eventLoop: any EventLoop, logger: Logger,
                events: @escaping @Sendable (RunnerEvent) -> Void) {
        self.configuration = configuration
        self.locator = RuntimeLocator(searchPath: configuration.searchPath, runtimesDirectory: configuration.runtimesDirectory)
        self.logger = logger
        self.emit = events
        self.environments = EnvironmentStore(root: configuration.environmentsDirectory, searchPath: configuration.searchPath,
                                             timeLimit: configuration.installTimeLimit, logger: logger,
                                             progress: { events(.dependencies($0)) })
        let peers = PeerRouter(window: RunnerProtocol.defaultWindow, highWater: configuration.queueBound,
                               cycleHighWater: configuration.cycleQueueBound,
                               maxFrameBytes: configuration.maxFrameBytes, loop: eventLoop, logger: logger)
        self.dataPath = DataPath(loop: eventLoop, peers: peers) { flow, source, payload in
            events(.output(flow: flow, module: source.module, port: source.port, payload: String(buffer: payload)))
        }
        self.peerTicks = eventLoop.scheduleRepeatedTask(initialDelay: PeerRouter.tickInterval, delay: PeerRouter.tickInterval) { _ in peers.tick() }
        // Fifo directories of servers that died without cleaning up.
        let swept = FifoPair.sweep(in: configuration.fifoDirectory)
        if !swept.isEmpty {
            logger.info("removed \(swept.count) fifo directories left by servers that are gone", metadata: ["directories": "\(swept)"])
        }
    }

    /// The language runtimes this runner can start (found once, on first use).
    ///
    /// Finding them runs `python3` and `node` and waits for their answers:
    /// that wait happens on a thread of its own, never on a Swift
    /// concurrency thread (there are as many of those as cores).
    public func listRuntimes() async -> [RuntimeInfo] {
        if !located {
            let locator = self.locator
            let task = locating ?? Task {
                await withCheckedContinuation { (c: CheckedContinuation<[RuntimeInfo], Never>) in
                    Thread.detachNewThread { c.resume(returning: locator.locate()) }
                }
            }
            locating = task
            let found = await task.value
            if !located {
                for info in found { runtimes[info.id] = info }
                located = true
            }
        }
        return runtimes.values.sorted { $0.id < $1.id }
    }

    /// Deploys a flow, or replaces a deployed one. The new code is loaded in a
    /// check instance first: if any module fails to load, nothing changes and
    /// the error names the module and line. A running flow is hot-swapped
    /// (`FlowRun.swap`); a stopped one is replaced, keeping module states and
    /// unprocessed messages.
    ///
    /// `start` starts a new flow at once. Its real instances are then the load
    /// check (each runtime starts once, not twice): when a module does not load
    /// or an `init` throws, they are stopped and nothing is deployed.
    /// - Parameter restoring: module states to start from when the flow is new here (see `RunnerCommand.deploy`).
    /// - Parameters:
    ///   - placed: the modules of `flow` this runner runs, with their generations and
    ///     states to start from (nil: all of them, generation 1); the others run
    ///     where `routes` says, or nowhere yet (their messages wait).
    /// - Returns: the states of modules that this deploy took off this runner (drained first), for their new place.
    @discardableResult
    public func deploy(_ full: FlowDocument, placed: [PlacedModule]? = nil, routes: [RemoteRoute] = [],
                       breakpoints: [Breakpoint] = [], revision: Int? = nil, start: Bool = false,
                       restoring: [ModuleID: JSONValue] = [:], paused: Bool = false,
                       handedOver: Set<ModuleID> = []) async throws -> [ModuleID: JSONValue] {
        // A deploy is not left running past `shutdown` (which waits for it): one still starting
        // runtimes when the runner is stopped would leave them, and their fifos, behind.
        guard !shuttingDown else { throw RunnerError.stopped(flow: full.id) }
        deploysInFlight += 1
        defer {
            deploysInFlight -= 1
            if deploysInFlight == 0 {
                let waiters = deploysDone
                deploysDone.removeAll()
                for w in waiters { w.resume() }
            }
        }
        let placed = placed ?? full.modules.map { PlacedModule(module: $0.id, gen: 1) }
        let here = Set(placed.map(\.module))
        let flow = full.restricted(to: here)
        var restoring = restoring
        for p in placed { if let s = p.state { restoring[p.module] = s } }
        let generations = Dictionary(placed.map { ($0.module, $0.gen) }, uniquingKeysWith: { a, _ in a })
        let elsewhere = Set(full.modules.map(\.id)).subtracting(here)
        let cycles = elsewhere.isEmpty ? [] : full.modulesOnCrossRunnerCycles(placed: here)
        let peers = dataPath.peers
        try await dataPath.loop.submit {
            peers.setPlacement(flow: full.id, generations: generations, elsewhere: elsewhere, cycles: cycles)
            peers.setRoutes(flow: full.id, routes, handedOver: handedOver)
            peers.flush()
        }.get()
        placements[full.id] = (full, placed, routes)
        let available = await listRuntimes().map(\.id)
        for m in flow.modules where !available.contains(m.runtime) {
            throw RunnerError.runtimeUnavailable(module: FlowModuleID(flow: flow.id, module: m.id), runtime: m.runtime, available: available)
        }
        // Missing environments are built before anything changes: a failed install leaves the running version as it is.
        try await prepareEnvironments(for: flow)
        let plan = FlowPlan(flow: flow)
        let old = flows[flow.id]
        let breakpoints = breakpoints.filter { flow.module($0.module) != nil }
        if let old, await old.plan.flow == flow {
            // Same modules here; new placements of the others (already applied above), or breakpoints.
            for b in breakpoints where await !old.breakpoints.contains(b) { try await old.setBreakpoint(b) }
            return [:]
        }

        let restored = restoring.filter { flow.module($0.key) != nil }
        if old == nil, start {
            let run = makeRun(plan, states: restored, runInit: Set(flow.modules.map(\.id)).subtracting(restored.keys),
                              quiet: false, breakpoints: breakpoints, paused: paused)
            await run.activate()
            do {
                try await run.start()
            } catch {
                await run.shutdown()
                throw error
            }
            if paused { await run.startedPaused() }
            flows[flow.id] = run
            return [:]
        }

        // The check loads every module; modules new to a running flow also run
        // their `init` there, so that an `init` that raises refuses the update
        // before anything changes (it then runs again, for real).
        let oldModules = Set(await old?.plan.flow.modules.map(\.id) ?? [])
        let checkInit = old == nil ? [] : Set(flow.modules.map(\.id)).subtracting(oldModules)
        let updating = old != nil
        let loadCheck: @Sendable () async throws -> Void = { [self] in
            let check = await self.makeRun(plan, states: [:], runInit: checkInit, quiet: true)
            await check.activate()
            // Shut down before the deploy goes on (never left to a task of its own): a runner
            // stopped right after a deploy leaves no check process and no fifo behind.
            do {
                try await check.start()
            } catch RunnerError.loadErrors(let id, let errors, _) {
                await check.shutdown()
                throw RunnerError.loadErrors(flow: id, errors, updating: updating)
            } catch {
                await check.shutdown()
                throw error
            }
            await check.stop()
            await check.shutdown()
        }
        if let old, [.running, .degraded, .paused].contains(await old.state) {
            let diff = try await old.swap(to: flow, check: loadCheck, arriving: restoring)
            for b in await old.breakpoints where flow.module(b.module) == nil { _ = try? await old.removeBreakpoint(b.module) }
            for b in breakpoints where await !old.breakpoints.contains(b) { try await old.setBreakpoint(b) }
            emit(.swapped(flow: flow.id, revision: revision, changed: diff.changed, added: diff.added,
                          removed: diff.removed, moved: diff.moved))
            let departed = await old.takeDepartedStates()
            return departed.filter { !here.contains($0.key) && full.module($0.key) != nil }
        }
        try await loadCheck()

        // Modules new here start from the states they come with (from another runner, or saved);
        // those that were here keep theirs (below).
        var states: [ModuleID: JSONValue] = restored.filter { !oldModules.contains($0.key) }
        var kept: [ModuleID: JSONValue] = [:]
        var pending: [(Endpoint, ByteBuffer)] = []
        var wasRunning = false
        if let old {
            wasRunning = [.running, .degraded, .paused].contains(await old.state)
            await old.stop()
            kept = await old.moduleStates()
            for m in flow.modules {
                if let before = await old.plan.flow.module(m.id), before.runtime == m.runtime, let s = kept[m.id] { states[m.id] = s }
            }
            pending = await old.takePending()
            await old.shutdown()
        }
        let runInit = Set(flow.modules.map(\.id)).subtracting(states.keys)
        let run = makeRun(plan, states: states, runInit: runInit, quiet: false, breakpoints: breakpoints)
        await run.activate()
        await run.adopt(pending)
        if wasRunning {
            do {
                try await run.start()
            } catch {
                // The new version did not start (an `init` threw, say): bring
                // the old one back with its states and messages, then report.
                let rescued = await run.takePending()
                await run.shutdown()
                if let old {
                    let restored = makeRun(await old.plan, states: kept, runInit: [], quiet: false, breakpoints: await old.breakpoints)
                    await restored.activate()
                    await restored.adopt(rescued)
                    flows[flow.id] = restored
                    try? await restored.start()
                }
                throw error
            }
        }
        flows[flow.id] = run
        emit(.flowState(flow: flow.id, state: wasRunning ? .running : .deployed, reason: nil))
        // Modules taken off this runner leave with the states the old version had.
        return kept.filter { !here.contains($0.key) && full.module($0.key) != nil }
    }

    public func start(_ id: FlowID) async throws {
        try await run(id).start()
    }

    public func stop(_ id: FlowID) async throws {
        try await run(id).stop()
    }

    /// Stops a flow and forgets it: its processes are reaped and fifos removed.
    public func remove(_ id: FlowID) async throws {
        let run = try run(id)
        flows[id] = nil
        placements[id] = nil
        await run.shutdown()
        let peers = dataPath.peers
        try? await dataPath.loop.submit { peers.forget(flow: id) }.get()
    }

    // MARK: other runners

    /// Stops running the given modules here (`fence`, `release`): the rest of
    /// each flow is swapped to a version without them (what was queued for
    /// them is finished first); a flow left with nothing here is removed.
    ///
    /// While the runner holds (`holdAll`: a `welcome.drop` after a partition),
    /// nothing queued for them may run, so each flow they belong to is removed
    /// here at once, its held runtimes killed; the dispatcher deploys again
    /// what stays placed here, from the states it last saw.
    public func letGo(_ leases: [ModuleLease]) async throws {
        for (flowID, group) in Dictionary(grouping: leases, by: \.flow) {
            guard let p = placements[flowID], flows[flowID] != nil else { continue }
            if holding {
                try await remove(flowID)
                continue
            }
            let gone = Set(group.map(\.module))
            let remaining = p.placed.filter { !gone.contains($0.module) }
            if remaining.isEmpty {
                try await remove(flowID)
            } else {
                let breakpoints = await flows[flowID]?.breakpoints ?? []
                try await deploy(p.full, placed: remaining, routes: p.routes, breakpoints: breakpoints)
            }
        }
    }

    /// The leases of every module running here (a reconnecting runner's `hello.modules`).
    public func leases() -> [ModuleLease] {
        placements.keys.sorted().flatMap { flow in
            placements[flow]!.placed.map { ModuleLease(flow: flow, module: $0.module, gen: $0.gen) }
        }
    }

    /// Where the flow's modules on other runners are now (`routes`).
    public func setRoutes(flow: FlowID, _ routes: [RemoteRoute]) async {
        placements[flow]?.routes = routes
        let peers = dataPath.peers
        try? await dataPath.loop.submit {
            peers.setRoutes(flow: flow, routes)
            peers.flush()
        }.get()
    }

    /// This runner's end is `me` (its connection, from the welcome); batches to and from other runners
    /// go by `transport`. `onError` gets a one-line reason for a batch that is unreadable or not for `me`.
    public func connected(as me: StreamEnd, transport: any CrossRunnerTransport,
                          onError: @escaping @Sendable (String) -> Void = { _ in }) async {
        var links: [InstanceLink] = []
        for run in flows.values { links += await run.links }
        let dataPath = self.dataPath, peers = dataPath.peers
        try? await dataPath.loop.submit {
            // Messages from other runners that came on the old connection and have not started: their
            // senders send them again on this one (they were not acknowledged), so they would run twice.
            for link in links { link.dropUnstartedFromOtherRunners() }
            if let old = peers.me, old != me { transport.stopConsuming(old) }
            transport.consume(as: me, on: dataPath.loop) { batch in
                if let problem = peers.receive(batch) { onError(problem) }
                dataPath.flushDirty()
            }
            peers.connected(as: me, transport: transport)
            peers.flush()
        }.get()
    }

    /// The dispatcher fell silent or the link dropped: it may be placing these
    /// modules elsewhere, so no handler runs here until `releaseAll` (a module
    /// never runs on two runners at once). Every runtime process is stopped
    /// (SIGSTOP) where it is, a handler mid-way included; what it had not
    /// acknowledged stays with its sender, so nothing is lost either way.
    public func holdAll() async {
        guard !holding else { return }
        holding = true
        logger.warning("holding every module: no word from the dispatcher")
        for run in flows.values { await run.suspend(true) }
    }

    /// The dispatcher is back and still places these modules here (after `welcome.drop`).
    public func releaseAll() async {
        guard holding else { return }
        holding = false
        if !flows.isEmpty { logger.info("running the modules again: the dispatcher is back") }
        for run in flows.values { await run.suspend(false) }
    }

    /// The connection to the dispatcher is gone.
    public func disconnected() async {
        let peers = dataPath.peers
        try? await dataPath.loop.submit { peers.disconnected() }.get()
    }

    /// Frames refused for a stale generation, and frames sent again after their target moved.
    public func crossRunnerCounters() async -> (staleFrames: Int, redelivered: [FlowModuleID: Int]) {
        let peers = dataPath.peers
        let c = try? await dataPath.loop.submit { peers.counters }.get()
        return (c?.staleFrames ?? 0, c?.redelivered ?? [:])
    }

    public func inject(_ id: FlowID, module: ModuleID, port: PortName?, payload: String) async throws {
        try await run(id).inject(module: module, port: port, payload: payload)
    }

    public func status(_ id: FlowID) async throws -> FlowRunStatus {
        var status = try await run(id).status()
        let peers = dataPath.peers
        if let (counters, waiting) = try? await dataPath.loop.submit({ (peers.counters(flow: id), peers.waiting(flow: id)) }).get() {
            status.staleFrames = counters.staleFrames
            status.redelivered = counters.redelivered.isEmpty ? nil : Dictionary(uniqueKeysWithValues: counters.redelivered.map { ($0.key.rawValue, $0.value) })
            status.waitingFor = waiting.isEmpty ? nil : Dictionary(uniqueKeysWithValues: waiting.map { ($0.key.rawValue, $0.value) })
        }
        return status
    }

    /// `states` reports (docs/runner-protocol.md): per flow, the modules placed here whose committed
    /// state changed since the last call, with their generation. A joined runner sends them at most
    /// once per heartbeat interval, so a module placed elsewhere after this runner is lost starts
    /// from a state at most one interval behind what was acknowledged (the embedded runner needs none:
    /// it dies with the dispatcher).
    public func takeStateReports() async -> [(flow: FlowID, modules: [ModuleStateReport])] {
        var out: [(flow: FlowID, modules: [ModuleStateReport])] = []
        let peers = dataPath.peers
        for id in flows.keys.sorted() {
            guard let run = flows[id] else { continue }
            let states = await run.takeChangedStates()
            guard !states.isEmpty else { continue }
            let gens = (try? await dataPath.loop.submit { peers.generations(flow: id) }.get()) ?? [:]
            let reports = states.keys.sorted().compactMap { module in
                gens[module].map { ModuleStateReport(module: module, gen: $0, state: states[module]!) }
            }
            if !reports.isEmpty { out.append((id, reports)) }
        }
        return out
    }

    public func status() async -> [FlowRunStatus] {
        var all: [FlowRunStatus] = []
        for id in flows.keys.sorted() { if let s = try? await status(id) { all.append(s) } }
        return all
    }

    /// Process ids of a flow's runtime instances (for tests and `status`).
    public func pids(_ id: FlowID) async throws -> [Int32] {
        try await run(id).pids()
    }

    /// Set by `shutdown`: no deploy starts after it.
    private var shuttingDown = false
    /// Deploys under way, and who waits for them to end (`shutdown`).
    private var deploysInFlight = 0
    private var deploysDone: [CheckedContinuation<Void, Never>] = []

    /// Stops every flow: children reaped, fifos removed (a deploy under way ends first).
    public func shutdown() async {
        shuttingDown = true
        peerTicks.cancel()
        if deploysInFlight > 0 { await withCheckedContinuation { deploysDone.append($0) } }
        let all = flows.values
        flows.removeAll()
        await withTaskGroup(of: Void.self) { group in
            for run in all { group.addTask { await run.shutdown() } }
        }
    }

    /// One debugger step of a flow, or of every paused flow when `id` is nil.
    public func step(_ id: FlowID?) async throws -> JSONValue {
        var out: [String: JSONValue] = [:]
        for r in try await stepTargets(id) {
            let id = await r.plan.flow.id
            for (module, result) in try await r.step() { out["\(id)/\(module)"] = result.json }
        }
        return .object(out)
    }

    /// The first half of a step across runners (`FlowRun.markStep`): each flow notes what waits now.
    public func markStep(_ id: FlowID?) async throws {
        for r in try await stepTargets(id) { try await r.markStep() }
    }

    /// The flow `id`, or every paused flow when it is nil.
    private func stepTargets(_ id: FlowID?) async throws -> [FlowRun] {
        if let id { return [try run(id)] }
        var paused: [FlowRun] = []
        for id in flows.keys.sorted() { if let r = flows[id], await r.state == .paused { paused.append(r) } }
        return paused
    }

    func run(_ id: FlowID) throws -> FlowRun {
        guard let run = flows[id] else { throw RunnerError.unknownFlow(id) }
        return run
    }

    private func makeRun(_ plan: FlowPlan, states: [ModuleID: JSONValue], runInit: Set<ModuleID>, quiet: Bool,
                         breakpoints: [Breakpoint] = [], paused: Bool = false) -> FlowRun {
        FlowRun(plan: plan, runtimes: runtimes, configuration: configuration, locator: locator, dataPath: dataPath,
                states: states, runInit: runInit, quiet: quiet, breakpoints: breakpoints, paused: paused, logger: logger, emit: emit)
    }
}
