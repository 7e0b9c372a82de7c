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
    let dataPath: DataPath
    private let logger: Logger
    let emit: @Sendable (RunnerEvent) -> Void
    private var runtimes: [RuntimeKind: RuntimeInfo] = [:]
    private var located = false
    /// The search for runtimes under way (callers that arrive meanwhile wait for the same one).
    private var locating: Task<[RuntimeInfo], Never>?
    var flows: [FlowID: FlowRun] = [:]
    /// Every runtime instance on this runner, referenced by the flow runs that use them.
    nonisolated let instances = InstanceTable()
    /// Per flow: the whole document and which of its modules run here (from the last deploy).
    var placements: [FlowID: (full: FlowDocument, placed: [PlacedModule], routes: [RemoteRoute])] = [:]
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

    /// Removes every flow and goes on (unlike `shutdown`): what the dispatcher sends next deploys as new.
    public func removeAll() async {
        for id in flows.keys.sorted() { try? await remove(id) }
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
        let links = instances.all.map(\.link)
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
    var shuttingDown = false
    /// Deploys under way, and who waits for them to end (`shutdown`).
    var deploysInFlight = 0
    var deploysDone: [CheckedContinuation<Void, Never>] = []

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

    func run(_ id: FlowID) throws -> FlowRun {
        guard let run = flows[id] else { throw RunnerError.unknownFlow(id) }
        return run
    }

    func makeRun(_ plan: FlowPlan, states: [ModuleID: JSONValue], runInit: Set<ModuleID>, quiet: Bool,
                         breakpoints: [Breakpoint] = [], paused: Bool = false) -> FlowRun {
        FlowRun(plan: plan, table: instances, runtimes: runtimes, configuration: configuration, locator: locator, dataPath: dataPath,
                states: states, runInit: runInit, quiet: quiet, breakpoints: breakpoints, paused: paused, logger: logger, emit: emit)
    }
}
