import FlowModel
import Foundation
import Logging
import NIOCore
import PipeBridge
import RunnerProtocol

/// One deployed flow on this runner: its plan, its links on the event loop,
/// one supervised runtime instance per `InstanceKey` (runtime kind and
/// dependency environment), and the modules' records.
actor FlowRun {
    /// The plan, links, instances and statuses line up index by index; a hot swap replaces them together.
    var plan: FlowPlan
    var links: [InstanceLink]
    var instances: [RuntimeInstance]
    var records: [ModuleID: ModuleRecord] = [:]
    var instanceStatus: [InstanceStatus]
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
    /// Set while a hot swap rewires the flow; injections wait for it.
    var swapping = false
    /// The states of modules a swap took off this runner (drained first): a `released` reply gives them to their new place.
    var departedStates: [ModuleID: JSONValue] = [:]

    /// The states of the modules the last swaps took off this runner; forgets them.
    func takeDepartedStates() -> [ModuleID: JSONValue] {
        defer { departedStates = [:] }
        return departedStates
    }
    var swapWaiters: [CheckedContinuation<Void, Never>] = []
    private var consumer: Task<Void, Never>?
    let debugger: FlowDebugger
    var breakpoints: [Breakpoint]
    var pausedAt: FlowDebugger.Hit?
    private let pauses: AsyncStream<FlowDebugger.Hit?>
    private let pausesContinuation: AsyncStream<FlowDebugger.Hit?>.Continuation
    private var pauseConsumer: Task<Void, Never>?
    /// How long a debugger step may wait for the runtimes.
    static let stepTimeout: TimeAmount = .seconds(30)
    /// How long an instance with a message in flight may say nothing before `status` shows its module as running long.
    static let runningLongAfter: TimeAmount = .seconds(1)
    private let maxFrameBytes: Int

    /// - Parameters:
    ///   - states: saved module states to start from.
    ///   - runInit: modules whose `init` must run when first loaded.
    ///   - quiet: a load check: its events are not published.
    init(plan: FlowPlan, runtimes: [RuntimeKind: RuntimeInfo], configuration: RunnerConfiguration,
         locator: RuntimeLocator, dataPath: DataPath, states: [ModuleID: JSONValue], runInit: Set<ModuleID>,
         quiet: Bool, breakpoints: [Breakpoint] = [], paused: Bool = false, logger: Logger,
         emit: @escaping @Sendable (RunnerEvent) -> Void) {
        self.plan = plan
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
        let links = plan.instances.map {
            InstanceLink(loop: dataPath.loop, flow: plan.flow.id, runtime: $0.runtime, slots: $0.slots,
                         window: configuration.window, queueBound: configuration.queueBound,
                         cycleQueueBound: configuration.cycleQueueBound)
        }
        let (pauses, pausesContinuation) = AsyncStream.makeStream(of: FlowDebugger.Hit?.self)
        self.pauses = pauses
        self.pausesContinuation = pausesContinuation
        let debugger = FlowDebugger(loop: dataPath.loop, links: links, onPause: { pausesContinuation.yield($0) })
        for link in links { link.watcher = debugger }
        self.debugger = debugger
        self.breakpoints = breakpoints
        dataPath.loop.execute {
            dataPath.connect(links, plan: plan, register: !quiet)
            debugger.load(breakpoints)
            // A new part of a paused flow holds from the start: what waited for it waits on.
            if paused { debugger.pause() }
            if !quiet { dataPath.peers.deliverParked(flow: plan.flow.id) }
        }
        self.links = links
        self.instances = zip(plan.instances, links).map { instancePlan, link in
            Self.makeInstance(instancePlan, link: link, flow: plan.flow.id, runtimes: runtimes, configuration: configuration,
                              locator: locator, states: states, runInit: runInit, logger: logger, reports: continuation)
        }
        self.instanceStatus = plan.instances.map {
            InstanceStatus(runtime: $0.runtime, state: .stopped, pid: nil, restarts: 0, reason: nil, modules: $0.modules.map(\.id),
                           environment: $0.key.environment)
        }
        for m in plan.flow.modules {
            var record = ModuleRecord(id: m.id, runtime: m.runtime)
            record.moduleState = states[m.id]
            record.codeHash = CodeHash.of(m.code ?? "")
            records[m.id] = record
        }
    }

    static func makeInstance(_ instancePlan: InstancePlan, link: InstanceLink, flow: FlowID, runtimes: [RuntimeKind: RuntimeInfo],
                             configuration: RunnerConfiguration, locator: RuntimeLocator, states: [ModuleID: JSONValue],
                             runInit: Set<ModuleID>, logger: Logger,
                             reports: AsyncStream<(InstanceKey, InstanceReport)>.Continuation) -> RuntimeInstance {
        let setup = RuntimeInstance.Setup(
            flow: flow, plan: instancePlan, runtime: runtimes[instancePlan.runtime]!,
            launch: EnvironmentLayout(root: configuration.environmentsDirectory).launch(for: instancePlan.key),
            script: locator.script(for: instancePlan.runtime) ?? "",
            fifoDirectory: configuration.fifoDirectory, maxFrameBytes: configuration.maxFrameBytes,
            policy: configuration.supervision, clock: configuration.clock)
        let moduleIDs = Set(instancePlan.modules.map(\.id))
        let kind = instancePlan.key
        return RuntimeInstance(
            setup: setup, link: link, states: states.filter { moduleIDs.contains($0.key) },
            runInit: runInit.intersection(moduleIDs), logger: logger,
            report: { reports.yield((kind, $0)) })
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
        await withTaskGroup(of: (Int, Result<[ModuleID: RuntimeMessage.LoadResult], any Error>).self) { group in
            for (i, instance) in instances.enumerated() {
                group.addTask {
                    do { return (i, .success(try await instance.start())) } catch { return (i, .failure(error)) }
                }
            }
            for await (i, result) in group {
                switch result {
                case .success(let results):
                    for (module, r) in results.sorted(by: { $0.key < $1.key }) where !r.ok {
                        loadErrors.append(.init(module: module, runtime: plan.instances[i].runtime, error: r.error ?? "unknown error", line: r.line))
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
        for instance in instances { await instance.suspend(on) }
    }

    /// Stops the instances and the report consumer for good.
    func shutdown() async {
        await stopInstances()
        let debugger = self.debugger
        let links = self.links
        // Links point at each other (routes, upstream): break the cycles so a
        // removed flow's links and their write buffers are freed.
        try? await debugger.loop.submit {
            debugger.close()
            for link in links {
                // What is dropped with the flow is done for the runners that sent it: their streams go on.
                _ = link.takeAll()
                link.forget()
            }
        }.get()
        reportsContinuation.finish()
        pausesContinuation.finish()
        consumer?.cancel()
        pauseConsumer?.cancel()
    }

    private func stopInstances() async {
        await withTaskGroup(of: Void.self) { group in
            for instance in instances { group.addTask { await instance.stop() } }
        }
        // Take the final states the runtimes reported before exiting.
        for instance in instances {
            for (module, value) in await instance.savedStates { records[module]?.moduleState = value }
        }
    }

    /// Module states as last reported, for carrying into a new deployment.
    /// The committed states that changed since the last call, over every instance of the flow here.
    func takeChangedStates() async -> [ModuleID: JSONValue] {
        var out: [ModuleID: JSONValue] = [:]
        for instance in instances {
            let link = instance.link
            let states = (try? await link.loop.submit { link.takeChangedStates() }.get()) ?? [:]
            out.merge(states) { _, new in new }
        }
        return out
    }

    func moduleStates() -> [ModuleID: JSONValue] {
        records.compactMapValues(\.moduleState)
    }

    /// Queues a message for a module's input; refused when its queue is saturated.
    func inject(module: ModuleID, port: PortName?, payload: String) async throws {
        while swapping { await withCheckedContinuation { swapWaiters.append($0) } }
        guard let spec = plan.flow.module(module) else {
            throw RunnerError.unknownModule(plan.flow.id, module, known: plan.flow.modules.map(\.id.rawValue))
        }
        guard let port = port ?? spec.inputs.first else {
            throw RunnerError.unknownPort(FlowModuleID(flow: plan.flow.id, module: module), PortName("in"), known: [])
        }
        guard let (instance, slot) = plan.inputSlot(module: module, port: port) else {
            throw RunnerError.unknownPort(FlowModuleID(flow: plan.flow.id, module: module), port, known: spec.inputs.map(\.rawValue))
        }
        guard state == .running || state == .degraded || state == .paused else { throw RunnerError.notRunning(plan.flow.id) }
        // The frame is `D<slot> <payload>`: refuse what the runtime could not read, before it is queued.
        if payload.utf8.count + 12 > maxFrameBytes {
            throw RunnerError.payloadTooLarge(FlowModuleID(flow: plan.flow.id, module: module), bytes: payload.utf8.count, limit: maxFrameBytes)
        }
        let link = links[instance]
        let buffer = ByteBuffer(string: payload)
        let accepted = try await link.loop.submit { () -> Bool in
            guard link.acceptsInjection else { return false }
            link.enqueue(slot: slot, payload: buffer)
            link.dataPath.flushDirty()
            return true
        }.get()
        if !accepted { throw RunnerError.saturated(FlowModuleID(flow: plan.flow.id, module: module)) }
    }

    /// Moves messages not yet processed (from a previous deployment) into this one's queues.
    func adopt(_ messages: [(Endpoint, ByteBuffer)]) async {
        var perLink: [Int: [(Int, ByteBuffer)]] = [:]
        for (endpoint, payload) in messages {
            if let (i, slot) = plan.inputSlot(module: endpoint.module, port: endpoint.port) {
                perLink[i, default: []].append((slot, payload))
            } else {
                record(error: ModuleErrorReport(module: endpoint.module, port: endpoint.port,
                                                payload: try? JSONValue(parsing: Data(payload.readableBytesView), nesting: .userValue),
                                                message: "message dropped by redeploy: module or port \"\(endpoint)\" no longer exists", stack: nil),
                       origin: .host)
            }
        }
        for (i, items) in perLink {
            let link = links[i]
            try? await link.loop.submit { for (slot, p) in items { link.enqueue(slot: slot, payload: p) } }.get()
        }
    }

    /// Every message not yet processed, oldest first per instance; empties the links.
    func takePending() async -> [(Endpoint, ByteBuffer)] {
        var all: [(Endpoint, ByteBuffer)] = []
        let debugger = self.debugger, links = self.links
        all += (try? await debugger.loop.submit { debugger.takeHeld() }.get()) ?? []
        for link in links {
            // Mapped on the loop: a message's receipt stays there.
            all += (try? await link.loop.submit { link.takeAll().map { (link.slots[$0.slot], $0.payload) } }.get()) ?? []
        }
        return all
    }

    func status() async -> FlowRunStatus {
        var queued: [ModuleID: Int] = [:]
        var runningLong: [ModuleID: Int] = [:]
        for link in links {
            let (counts, silence) = (try? await link.loop.submit { (link.slots.indices.map { link.pendingCount(slot: $0) }, link.silence()) }.get()) ?? ([], nil)
            for (slot, count) in counts.enumerated() { queued[link.slots[slot].module, default: 0] += count }
            if let silence, silence.for >= Self.runningLongAfter {
                runningLong[link.slots[silence.slot].module] = Int(silence.for.nanoseconds / 1_000_000)
            }
        }
        let debugger = self.debugger
        let held = (try? await debugger.loop.submit { debugger.heldSummary() }.get()) ?? [:]
        let modules = plan.flow.modules.compactMap { m -> ModuleStatus? in
            guard var status = records[m.id]?.status(queued: (queued[m.id] ?? 0) + (held[m.id]?.count ?? 0)) else { return nil }
            status.runningLongMs = runningLong[m.id]
            if let h = held[m.id] { status.queuedPayloads = h.oldest.map(Self.json) }
            return status
        }
        let paused = pausedAt.map { PausedAt(module: $0.module, port: $0.port, payload: Self.json($0.payload)) }
        return FlowRunStatus(flow: plan.flow.id, state: state, reason: reason, instances: instanceStatus, modules: modules,
                             breakpoints: breakpoints, pausedAt: paused)
    }

    func pids() async -> [Int32] {
        var pids: [Int32] = []
        for instance in instances { if let pid = await instance.pid { pids.append(pid) } }
        return pids
    }

    // MARK: reports

    private func receive(_ report: InstanceReport, from key: InstanceKey) {
        guard let index = plan.instances.firstIndex(where: { $0.key == key }) else { return }
        let runtime = key.runtime
        switch report {
        case .state(let s, let pid, let restarts, let why):
            instanceStatus[index].state = s
            instanceStatus[index].pid = pid
            instanceStatus[index].restarts = restarts
            instanceStatus[index].reason = why
            emit(.instanceState(flow: plan.flow.id, runtime: runtime, state: s, pid: pid, restarts: restarts, reason: why))
            if s == .ready, state == .degraded, !instanceStatus.contains(where: { $0.state == .failed }) {
                setState(.running, reason: nil)
            }
        case .log(let module, let level, let text):
            let entry = LogRecord(time: Date(), level: level, text: text)
            if let module { records[module]?.logs.append(entry) }
            emit(.log(flow: plan.flow.id, module: module, runtime: runtime, record: entry))
        case .moduleError(let error, let origin):
            record(error: error, origin: origin)
        case .stats(let stats):
            for (module, s) in stats {
                records[module]?.current = (s.in, s.out, s.errors)
                if let st = s.state { records[module]?.moduleState = st }
            }
        case .processEnded(let committed, let states):
            for module in plan.instances[index].modules {
                records[module.id]?.processEnded(committed: committed[module.id])
                if let state = states[module.id] { records[module.id]?.moduleState = state }
            }
        case .gaveUp(let why):
            for module in plan.instances[index].modules { records[module.id]?.state = .stopped }
            setState(.degraded, reason: "\(runtime.rawValue) runtime: \(why)")
        }
    }

    /// - Parameter origin: `.host` for an error the host records (a dropped message, a process that
    ///   died with it): counted apart, as the runtime's own counters do not include it.
    func record(error: ModuleErrorReport, origin: ErrorOrigin) {
        let entry = ModuleErrorRecord(time: Date(), port: error.port, payload: error.payload?.boundedForTheDispatcher,
                                      message: error.message, stack: error.stack)
        records[error.module]?.errors.append(entry)
        if origin == .host { records[error.module]?.hostErrors += 1 }
        emit(.moduleError(flow: plan.flow.id, module: error.module, error: entry))
    }

    func setState(_ new: FlowRunState, reason: String?) {
        guard new != state || reason != self.reason else { return }
        state = new
        self.reason = reason
        emit(.flowState(flow: plan.flow.id, state: new, reason: reason))
    }
}
