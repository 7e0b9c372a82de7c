import FlowModel
import Foundation
import NIOCore
import PipeBridge
import RunnerProtocol

/// Hot swap of a running flow (docs/hot-swap.md), driven by `HotSwapStateMachine`.
extension FlowRun {
    /// Applies `newFlow` to this running flow: unchanged modules are not
    /// touched, changed ones get their new code between two messages with
    /// their state, added ones start, removed ones finish what was queued for
    /// them, moved ones carry their state to the other runtime. `check` loads
    /// the new code beside the old first; when it throws, nothing changes.
    /// - Parameter arriving: states of added modules that come from another runner: they start from them, without `init`.
    func swap(to newFlow: FlowDocument, check: @Sendable () async throws -> Void, arriving: [ModuleID: JSONValue] = [:]) async throws -> FlowDiff {
        // One swap at a time: a second one (the actor is reentrant) waits for the first to end, then
        // starts from the plan that one left.
        while swapMachine != nil { await withCheckedContinuation { swapWaiters.append($0) } }
        let oldPlan = plan
        let diff = FlowDiff(from: oldPlan.flow, to: newFlow)
        let newPlan = FlowPlan(flow: newFlow)
        // The run's one swap state machine: while it is set, `swapping` says which phase holds injections.
        swapMachine = HotSwapStateMachine(diff: diff)
        defer { endSwap() }
        var action = swapMachine!.begin()
        let arriving = arriving.filter { diff.added.contains($0.key) }
        var moved: [ModuleID: JSONValue] = arriving
        let loop = dataPath.loop
        while true {
            switch action {
            case .checkNewCode:
                do {
                    try await check()
                    action = swapMachine!.checked(failure: nil)
                } catch {
                    _ = swapMachine!.checked(failure: "\(error)")
                    throw error
                }
            case .holdAndDrain:
                // Only the instances whose modules or tables change are held and
                // drained; the others keep their traffic flowing.
                let affected = instances.filter { Self.runtimeChanges($0.plan, in: newPlan, flow: newFlow.id) }
                let held = affected.map(\.link)
                let drains: [Set<Int>] = affected.map { instance in
                    let slots = instance.plan.slots
                    return Set(slots.indices.filter { diff.removed.contains(slots[$0].module) })
                }
                try await loop.submit { for (link, drain) in zip(held, drains) { link.beginHold(drain: drain) } }.get()
                let debugger = self.debugger
                do {
                    try await loop.flatSubmit { debugger.whenQuiet(timeout: Self.stepTimeout, only: held) }.get()
                } catch {
                    await release(oldLinks: links, newPlan: oldPlan, newLinks: linksByKey)
                    throw RunnerError.swapTimedOut(flow: oldPlan.flow.id)
                }
                action = swapMachine!.drained()
            case .collectStates:
                // Modules that move to another runtime, and those that leave (for another runner, maybe):
                // their instances are drained, so a report is their state after exactly what they finished.
                let reported = Set(diff.moved).union(diff.removed)
                // Nothing more runs for removed modules once drained: a message for them now waits (and
                // follows them to their new place), so the state read next is after exactly what they did.
                let links = self.links
                try? await loop.submit { for link in links { link.stopDraining() } }.get()
                for instance in instances where instance.plan.modules.contains(where: { reported.contains($0.id) }) {
                    let report = await instance.supervisor.requestReport()
                    for id in diff.moved { if let s = report.states[id] { moved[id] = s } }
                    for id in diff.removed { if let s = report.states[id] { departedStates[id] = s } }
                }
                for id in diff.moved where moved[id] == nil { moved[id] = records[id]?.moduleState }
                for id in diff.removed where departedStates[id] == nil { departedStates[id] = records[id]?.moduleState }
                action = swapMachine!.statesCollected()
            case .swapInstances:
                let oldLinks = links
                let newLinks = await rewire(oldPlan: oldPlan, newPlan: newPlan, diff: diff, moved: moved, arriving: Set(arriving.keys))
                action = swapMachine!.instancesSwapped()
                await release(oldLinks: oldLinks, newPlan: newPlan, newLinks: newLinks)
                action = swapMachine!.released()
            case .release, .refuse, .finish:
                return diff
            }
        }
    }

    /// The swap is over (done or refused): injections and swaps that waited go on (each checks again).
    private func endSwap() {
        swapMachine = nil
        let waiters = swapWaiters
        swapWaiters.removeAll()
        for w in waiters { w.resume() }
    }

    /// Whether the runtime of `old` sees any change in `newPlan`: its modules,
    /// its slots or its routes as `configure` gives them (host-side targets
    /// may change without the runtime noticing), or it is retired.
    static func runtimeChanges(_ old: InstancePlan, in newPlan: FlowPlan, flow: FlowID) -> Bool {
        guard let new = newPlan.instances.first(where: { $0.key == old.key }) else { return true }
        return HostMessage.Configure(flow: flow, instance: old, states: [:], runInit: [])
            != HostMessage.Configure(flow: flow, instance: new, states: [:], runInit: [])
    }

    /// Swaps the instances that stay, starts those of new runtimes, stops
    /// those left empty (the runner's table gains and loses them); returns the links of the new plan.
    private func rewire(oldPlan: FlowPlan, newPlan: FlowPlan, diff: FlowDiff, moved: [ModuleID: JSONValue],
                        arriving: Set<ModuleID>) async -> [InstanceKey: InstanceLink] {
        let old = Dictionary(uniqueKeysWithValues: instances.map { ($0.key, $0) })
        // Modules new to the flow run `init`; those arriving from another runner start from their state.
        let added = Set(diff.added).subtracting(arriving)
        var newLinks: [InstanceKey: InstanceLink] = [:]
        var started: [HostedInstance] = []
        var failures: [RunnerError.LoadError] = []
        // What the old processes committed for modules that leave them (the instances are idle, so it is all they did).
        var movedCounters: [ModuleID: RuntimeMessage.ModuleStats] = [:]
        let leaving = Set(diff.moved).union(diff.removed)
        for writer in old.values.map(\.writer) {
            let taken = (try? await writer.loop.submit { writer.takeCommitted(leaving) }.get()) ?? [:]
            movedCounters.merge(taken) { _, new in new }
        }
        for instancePlan in newPlan.instances {
            let kind = instancePlan.runtime
            if let stays = old[instancePlan.key] {
                let load = diff.toLoad(in: instancePlan.key, new: newPlan.flow)
                let drop = diff.toDrop(in: instancePlan.key, old: oldPlan.flow)
                if Self.runtimeChanges(stays.plan, in: newPlan, flow: newPlan.flow.id) {
                    let results = await stays.supervisor.swap(to: instancePlan, load: load, remove: drop,
                                                              states: moved.filter { load.contains($0.key) },
                                                              newModules: added.intersection(load))
                    for (m, r) in results where !r.ok {
                        failures.append(.init(module: m, runtime: kind, error: r.error ?? "unknown error", line: r.line))
                    }
                }
                table.update(run: run, key: instancePlan.key) {
                    $0.plan = instancePlan
                    $0.status.modules = instancePlan.modules.map(\.id)
                }
                newLinks[instancePlan.key] = stays.link
            } else {
                let hosted = Self.makeInstance(instancePlan, flow: newPlan.flow.id, runtimes: runtimes, configuration: configuration,
                                               locator: locator, dataPath: dataPath, states: moved, runInit: added,
                                               logger: logger, reports: reportsContinuation, status: .starting)
                // Held from the start: its messages wait until the flow is rewired in `release`.
                let link = hosted.link, debugger = self.debugger
                try? await dataPath.loop.submit {
                    link.report(to: debugger)
                    link.beginHold(drain: [])
                }.get()
                table.insert(hosted, run: run)
                newLinks[instancePlan.key] = link
                started.append(hosted)
            }
        }
        // The plan and records change now; the links are rewired on the loop in `release`.
        let retired = old.values.filter { newLinks[$0.key] == nil }
        plan = newPlan
        for instance in retired { table.remove(run: run, key: instance.key) }
        for id in diff.removed { records[id] = nil }
        for id in diff.moved {
            records[id]?.processEnded(committed: movedCounters[id])
            records[id]?.runtime = newPlan.flow.module(id)!.runtime
            records[id]?.swaps += 1
            records[id]?.codeHash = CodeHash.of(newPlan.flow.module(id)?.code ?? "")
        }
        for id in diff.changed {
            records[id]?.swaps += 1
            records[id]?.codeHash = CodeHash.of(newPlan.flow.module(id)?.code ?? "")
        }
        for id in diff.added {
            var record = ModuleRecord(id: id, runtime: newPlan.flow.module(id)!.runtime)
            record.codeHash = CodeHash.of(newPlan.flow.module(id)?.code ?? "")
            record.state = .running
            record.moduleState = moved[id]
            records[id] = record
        }
        for failure in failures { records[failure.module]?.state = .loadError }
        for instance in started {
            do {
                let results = try await instance.supervisor.start()
                for (m, r) in results where !r.ok { records[m]?.state = .loadError }
            } catch {
                logger.error("a new runtime instance did not start in a swap", metadata: ["error": "\(error)"])
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for supervisor in retired.map(\.supervisor) { group.addTask { await supervisor.stop() } }
        }
        return newLinks
    }

    /// Rewires the links for `newPlan`, moves held messages to their new link
    /// and slot (recording those whose module or port is gone) and lets
    /// traffic flow again.
    private func release(oldLinks: [InstanceLink], newPlan: FlowPlan, newLinks: [InstanceKey: InstanceLink]) async {
        let dataPath = self.dataPath
        let debugger = self.debugger
        let ordered = newPlan.instances.map { newLinks[$0.key]! }
        /// The link and slot of an input in the new plan.
        let input: @Sendable (Endpoint) -> (link: InstanceLink, slot: Int)? = { endpoint in
            newPlan.inputSlot(module: endpoint.module, port: endpoint.port).map { (link: ordered[$0.instance], slot: $0.slot) }
        }
        let dropped: [(Endpoint, ByteBuffer)] = (try? await dataPath.loop.submit { () -> [(Endpoint, ByteBuffer)] in
            // Held messages carry the old slot numbers of their old link.
            var pending: [(Endpoint, ByteBuffer)] = []
            var every = oldLinks
            for link in ordered where !every.contains(where: { $0 === link }) { every.append(link) }
            for link in every {
                let slots = link.slots
                pending += link.endHold().map { (slots[$0.slot], $0.payload) }
                link.writer.resetCongestion()
            }
            for instance in newPlan.instances { newLinks[instance.key]!.replaceSlots(instance.slots) }
            dataPath.connect(newLinks, plan: newPlan, register: true)
            var dropped = debugger.relink(ordered, remap: input)
            for (endpoint, payload) in pending {
                if let (link, slot) = input(endpoint) {
                    link.enqueue(slot: slot, payload: payload)
                } else if dataPath.peers.runsElsewhere(flow: newPlan.flow.id, module: endpoint.module), let sender = ordered.first {
                    // The module moved to another runner: its messages follow it.
                    dataPath.peers.send(flow: newPlan.flow.id, target: endpoint, payload: payload, from: sender)
                } else {
                    dropped.append((endpoint, payload))
                }
            }
            dataPath.peers.deliverParked(flow: newPlan.flow.id)
            dataPath.flushDirty()
            for link in ordered { link.flush() }
            return dropped
        }.get()) ?? []
        for (endpoint, payload) in dropped {
            record(error: ModuleErrorReport(module: endpoint.module, port: endpoint.port,
                                            payload: try? JSONValue(parsing: Data(payload.readableBytesView), nesting: .userValue),
                                            message: "message dropped by a hot swap: \"\(endpoint)\" no longer exists in the new version of the flow",
                                            stack: nil), origin: .host)
        }
    }
}
