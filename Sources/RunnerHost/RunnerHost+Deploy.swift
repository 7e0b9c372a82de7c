import FlowModel
import NIOCore
import RunnerProtocol

/// Deploying a flow on this runner: the placement first, then the way `DeployPath` decides.
extension RunnerHost {
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
        let restored = restoring.filter { flow.module($0.key) != nil }
        let now: (flow: FlowDocument, state: FlowRunState)? = if let old { (await old.plan.flow, await old.state) } else { nil }
        switch DeployPath.decide(old: now, new: flow, start: start) {
        case .unchanged:
            for b in breakpoints where await !old!.breakpoints.contains(b) { try await old!.setBreakpoint(b) }
            return [:]
        case .startNew:
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
        case .swap:
            let old = old!
            let diff = try await old.swap(to: flow, check: loadCheck(plan, updating: true, checkInit: checkInit(flow, old: now?.flow)), arriving: restoring)
            for b in await old.breakpoints where flow.module(b.module) == nil { _ = try? await old.removeBreakpoint(b.module) }
            for b in breakpoints where await !old.breakpoints.contains(b) { try await old.setBreakpoint(b) }
            emit(.swapped(flow: flow.id, revision: revision, changed: diff.changed, added: diff.added,
                          removed: diff.removed, moved: diff.moved))
            let departed = await old.takeDepartedStates()
            return departed.filter { !here.contains($0.key) && full.module($0.key) != nil }
        case .replace:
            try await loadCheck(plan, updating: old != nil, checkInit: checkInit(flow, old: now?.flow))()
            let kept = try await replace(old, with: plan, restored: restored, breakpoints: breakpoints)
            // Modules taken off this runner leave with the states the old version had.
            return kept.filter { !here.contains($0.key) && full.module($0.key) != nil }
        }
    }

    /// Modules new to a running flow run their `init` in the load check too, so that an `init`
    /// that raises refuses the update before anything changes (it then runs again, for real).
    private func checkInit(_ flow: FlowDocument, old: FlowDocument?) -> Set<ModuleID> {
        guard let old else { return [] }
        return Set(flow.modules.map(\.id)).subtracting(old.modules.map(\.id))
    }

    /// The load check: every module of `plan` loaded in instances of their own, then stopped
    /// (shut down before the deploy goes on, never left to a task of its own: a runner stopped
    /// right after a deploy leaves no check process and no fifo behind).
    private func loadCheck(_ plan: FlowPlan, updating: Bool, checkInit: Set<ModuleID>) -> @Sendable () async throws -> Void {
        { [self] in
            let check = await self.makeRun(plan, states: [:], runInit: checkInit, quiet: true)
            await check.activate()
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
    }

    /// `DeployPath.replace` after its load check: the old run (if any) stops and hands over its
    /// states and waiting messages to a new one, started when the old one ran. A new version that
    /// does not start brings the old one back, with its states and messages, and the error is thrown.
    /// Returns the old run's module states.
    private func replace(_ old: FlowRun?, with plan: FlowPlan, restored: [ModuleID: JSONValue],
                         breakpoints: [Breakpoint]) async throws -> [ModuleID: JSONValue] {
        let flow = plan.flow
        var kept: [ModuleID: JSONValue] = [:]
        var pending: [(Endpoint, ByteBuffer)] = []
        var wasRunning = false
        var oldFlow: FlowDocument?
        if let old {
            wasRunning = [.running, .degraded, .paused].contains(await old.state)
            oldFlow = await old.plan.flow
            await old.stop()
            kept = await old.moduleStates()
            pending = await old.takePending()
            await old.shutdown()
        }
        let states = DeployPath.states(restored: restored, kept: kept, old: oldFlow, new: flow)
        let runInit = Set(flow.modules.map(\.id)).subtracting(states.keys)
        let run = makeRun(plan, states: states, runInit: runInit, quiet: false, breakpoints: breakpoints)
        await run.activate()
        await run.adopt(pending)
        if wasRunning {
            do {
                try await run.start()
            } catch {
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
        return kept
    }
}
