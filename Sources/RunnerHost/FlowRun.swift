import FlowModel
import Foundation
import Logging
import NIOCore
import PipeBridge
import RunnerProtocol

/// One deployed flow on this runner: its plan, one hosted runtime instance
/// per `InstanceKey` (runtime kind and dependency environment), referenced in
/// the runner's `InstanceTable`, and the modules' records.
actor FlowRun {
    var plan: FlowPlan
    /// The runner's instances; this run's are those of `run` with the keys of `plan`.
    let table: InstanceTable
    /// This run's number in `table`.
    let run: Int
    var records: [ModuleID: ModuleRecord] = [:]
    private(set) var state: FlowRunState = .deployed
    private var reason: String?
    let emit: @Sendable (RunnerEvent) -> Void
    private let reports: AsyncStream<(InstanceKey, InstanceReport)>
    let reportsContinuation: AsyncStream<(InstanceKey, InstanceReport)>.Continuation
    /// What a new instance needs (a hot swap may add one).
    let runtimes: [RuntimeKind: RuntimeInfo]
    let configuration: RunnerConfiguration
    let locator: RuntimeLocator
    let dataPath: DataPath
    let logger: Logger
    /// The hot swap under way, if any: its one state machine. Injections wait while it is set.
    var swapMachine: HotSwapStateMachine?
    /// Injections wait from the drain on (the check of new code runs beside the old, which takes them).
    var swapping: Bool {
        guard let phase = swapMachine?.phase else { return false }
        return phase != .idle && phase != .checking
    }
    /// The states of modules a swap took off this runner (drained first): a `released` reply gives them to their new place.
    var departedStates: [ModuleID: JSONValue] = [:]

    /// The states of the modules the last swaps took off this runner; forgets them.
    func takeDepartedStates() -> [ModuleID: JSONValue] {
        defer { departedStates = [:] }
        return departedStates
    }
    var swapWaiters: [CheckedContinuation<Void, Never>] = []
    private var consumer: Task<Void, Never>?
    /// The flow's debugger: the one owner of its breakpoints, pause and steps.
    let debugger: FlowDebugger
    var pausedAt: FlowDebugger.Hit?
    private let pauses: AsyncStream<FlowDebugger.Hit?>
    private let pausesContinuation: AsyncStream<FlowDebugger.Hit?>.Continuation
    private var pauseConsumer: Task<Void, Never>?
    /// How long a debugger step may wait for the runtimes.
    static let stepTimeout: TimeAmount = .seconds(30)
    /// How long an instance with a message in flight may say nothing before `status` shows its module as running long.
    static let runningLongAfter: TimeAmount = .seconds(1)
    let maxFrameBytes: Int

    /// This run's instances, in the plan's order.
    var instances: [HostedInstance] { table.instances(run: run, keys: plan.instances.map(\.key)) }
    /// This run's links, in the plan's order.
    var links: [InstanceLink] { instances.map(\.link) }
    /// This run's links by instance key.
    var linksByKey: [InstanceKey: InstanceLink] { Dictionary(uniqueKeysWithValues: instances.map { ($0.key, $0.link) }) }

    /// - Parameters:
    ///   - states: saved module states to start from.
    ///   - runInit: modules whose `init` must run when first loaded.
    ///   - quiet: a load check: its events are not published.
    init(plan: FlowPlan, table: InstanceTable, runtimes: [RuntimeKind: RuntimeInfo], configuration: RunnerConfiguration,
         locator: RuntimeLocator, dataPath: DataPath, states: [ModuleID: JSONValue], runInit: Set<ModuleID>,
         quiet: Bool, breakpoints: [Breakpoint] = [], paused: Bool = false, logger: Logger,
         emit: @escaping @Sendable (RunnerEvent) -> Void) {
        self.plan = plan
        self.table = table
        let run = table.newRun()
        self.run = run
        self.maxFrameBytes = configuration.maxFrameBytes
        if quiet { self.emit = { @Sendable (_: RunnerEvent) in } } else { self.emit = emit }
        let (stream, continuation) = AsyncStream.makeStream(of: (InstanceKey, InstanceReport).self)
        self.runtimes = runtimes
        self.configuration = configuration
        self.locator = locator
        self.dataPath = dataPath
        self.logger = logger
        self.reports = stream
        self.reportsContinuation = continuation
        let (pauses, pausesContinuation) = AsyncStream.makeStream(of: FlowDebugger.Hit?.self)
        self.pauses = pauses
        self.pausesContinuation = pausesContinuation
        var links: [InstanceKey: InstanceLink] = [:]
        for instancePlan in plan.instances {
            let hosted = Self.makeInstance(instancePlan, flow: plan.flow.id, runtimes: runtimes, configuration: configuration,
                                           locator: locator, dataPath: dataPath, states: states, runInit: runInit,
                                           logger: logger, reports: continuation, status: .stopped)
            links[instancePlan.key] = hosted.link
            table.insert(hosted, run: run)
        }
        let ordered = plan.instances.map { links[$0.key]! }
        let debugger = FlowDebugger(loop: dataPath.loop, links: ordered, onPause: { pausesContinuation.yield($0) })
        self.debugger = debugger
        let wired = links
        dataPath.loop.execute {
            for link in ordered { link.report(to: debugger) }
            dataPath.connect(wired, plan: plan, register: !quiet)
            debugger.load(breakpoints)
            // A new part of a paused flow holds from the start: what waited for it waits on.
            if paused { debugger.pause() }
            if !quiet { dataPath.peers.deliverParked(flow: plan.flow.id) }
        }
        for m in plan.flow.modules {
            var record = ModuleRecord(id: m.id, runtime: m.runtime)
            record.moduleState = states[m.id]
            record.codeHash = CodeHash.of(m.code ?? "")
            records[m.id] = record
        }
    }

    /// A new hosted instance for `instancePlan`: its writer and link on the runner's loop, its supervisor.
    static func makeInstance(_ instancePlan: InstancePlan, flow: FlowID, runtimes: [RuntimeKind: RuntimeInfo],
                             configuration: RunnerConfiguration, locator: RuntimeLocator, dataPath: DataPath,
                             states: [ModuleID: JSONValue], runInit: Set<ModuleID>, logger: Logger,
                             reports: AsyncStream<(InstanceKey, InstanceReport)>.Continuation,
                             status: InstanceState) -> HostedInstance {
        let writer = InstanceWriter(dataPath: dataPath, window: configuration.window, queueBound: configuration.queueBound,
                                    cycleQueueBound: configuration.cycleQueueBound)
        let link = InstanceLink(writer: writer, flow: flow, runtime: instancePlan.runtime, slots: instancePlan.slots)
        let setup = RuntimeInstance.Setup(
            flow: flow, plan: instancePlan, runtime: runtimes[instancePlan.runtime]!,
            launch: EnvironmentLayout(root: configuration.environmentsDirectory).launch(for: instancePlan.key),
            script: locator.script(for: instancePlan.runtime) ?? "",
            fifoDirectory: configuration.fifoDirectory, maxFrameBytes: configuration.maxFrameBytes,
            policy: configuration.supervision, clock: configuration.clock)
        let moduleIDs = Set(instancePlan.modules.map(\.id))
        let kind = instancePlan.key
        let supervisor = RuntimeInstance(
            setup: setup, link: link, states: states.filter { moduleIDs.contains($0.key) },
            runInit: runInit.intersection(moduleIDs), logger: logger,
            report: { reports.yield((kind, $0)) })
        return HostedInstance(
            plan: instancePlan, link: link, supervisor: supervisor,
            status: InstanceStatus(runtime: instancePlan.runtime, state: status, pid: nil, restarts: 0, reason: nil,
                                   modules: instancePlan.modules.map(\.id), environment: instancePlan.key.environment))
    }

    /// Starts consuming the instances' reports; call once after init.
    func activate() {
        guard consumer == nil else { return }
        let pauses = self.pauses
        pauseConsumer = Task { [weak self] in
            for await hit in pauses { await self?.debuggerPaused(hit) }
        }
        let stream = reports
        consumer = Task { [weak self] in
            for await (kind, report) in stream {
                await self?.receive(report, from: kind)
            }
        }
    }

    /// Starts every instance; on a load error stops them all and throws, naming module and line.
    func start() async throws {
        guard state != .running else { return }
        var loadErrors: [RunnerError.LoadError] = []
        var failure: (any Error)?
        await withTaskGroup(of: (RuntimeKind, Result<[ModuleID: RuntimeMessage.LoadResult], any Error>).self) { group in
            for instance in instances {
                let supervisor = instance.supervisor, runtime = instance.plan.runtime
                group.addTask {
                    do { return (runtime, .success(try await supervisor.start())) } catch { return (runtime, .failure(error)) }
                }
            }
            for await (runtime, result) in group {
                switch result {
                case .success(let results):
                    for (module, r) in results.sorted(by: { $0.key < $1.key }) where !r.ok {
                        loadErrors.append(.init(module: module, runtime: runtime, error: r.error ?? "unknown error", line: r.line))
                        records[module]?.state = .loadError
                    }
                case .failure(let error):
                    failure = failure ?? error
                }
            }
        }
        if !loadErrors.isEmpty || failure != nil {
            await stopInstances()
            setState(.stopped, reason: nil)
            if !loadErrors.isEmpty { throw RunnerError.loadErrors(flow: plan.flow.id, loadErrors) }
            throw failure!
        }
        for id in records.keys { records[id]?.state = .running }
        setState(.running, reason: nil)
    }

    func stop() async {
        await stopInstances()
        for id in records.keys where records[id]?.state != .loadError { records[id]?.state = .stopped }
        setState(.stopped, reason: nil)
    }

    /// The runner's hold: freezes (or lets go on) every runtime process of the flow here.
    func suspend(_ on: Bool) async {
        for instance in instances { await instance.supervisor.suspend(on) }
    }

    /// Stops the instances and the report consumer for good; the runner's table forgets them.
    func shutdown() async {
        await stopInstances()
        let debugger = self.debugger
        let links = self.links
        // Links point at each other (routes, feeders): break the cycles so a
        // removed flow's links and their write buffers are freed.
        try? await debugger.loop.submit {
            debugger.close()
            for link in links {
                // What is dropped with the flow is done for the runners that sent it: their streams go on.
                _ = link.takeAll()
                link.forget()
            }
        }.get()
        for instance in plan.instances { table.remove(run: run, key: instance.key) }
        reportsContinuation.finish()
        pausesContinuation.finish()
        consumer?.cancel()
        pauseConsumer?.cancel()
    }

    private func stopInstances() async {
        let supervisors = instances.map(\.supervisor)
        await withTaskGroup(of: Void.self) { group in
            for supervisor in supervisors { group.addTask { await supervisor.stop() } }
        }
        // Take the final states the runtimes reported before exiting.
        for supervisor in supervisors {
            for (module, value) in await supervisor.savedStates { records[module]?.moduleState = value }
        }
    }

    /// The committed states that changed since the last call, over every instance of the flow here.
    func takeChangedStates() async -> [ModuleID: JSONValue] {
        var out: [ModuleID: JSONValue] = [:]
        for instance in instances {
            let writer = instance.writer
            let states = (try? await writer.loop.submit { writer.takeChangedStates() }.get()) ?? [:]
            out.merge(states) { _, new in new }
        }
        return out
    }

    /// Module states as last reported, for carrying into a new deployment.
    func moduleStates() -> [ModuleID: JSONValue] {
        records.compactMapValues(\.moduleState)
    }

    /// The flow's breakpoints, as its debugger (their one owner) has them.
    var breakpoints: [Breakpoint] {
        get async {
            let debugger = self.debugger
            return (try? await debugger.loop.submit { debugger.allBreakpoints }.get()) ?? []
        }
    }

    func setState(_ new: FlowRunState, reason: String?) {
        guard new != state || reason != self.reason else { return }
        state = new
        self.reason = reason
        emit(.flowState(flow: plan.flow.id, state: new, reason: reason))
    }

    var stateReason: String? { reason }
}
