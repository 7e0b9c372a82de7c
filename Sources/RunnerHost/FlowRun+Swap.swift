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
        let oldPlan = plan
        let diff = FlowDiff(from: oldPlan.flow, to: newFlow)
        let newPlan = FlowPlan(flow: newFlow)
        var machine = HotSwapStateMachine(diff: diff)
        var action = machine.begin()
        let arriving = arriving.filter { diff.added.contains($0.key) }
        var moved: [ModuleID: JSONValue] = arriving
        let loop = dataPath.loop
        while true {
            switch action {
            case .checkNewCode:
                do {
                    try await check()
                    action = machine.checked(failure: nil)
                } catch {
                    action = machine.checked(failure: "\(error)")
                    _ = action
                    throw error
                }
            case .holdAndDrain:
                swapping = true
                // Only the instances whose modules or tables change are held and
                // drained; the others keep their traffic flowing.
                let affected = oldPlan.instances.indices.filter { Self.runtimeChanges(oldPlan.instances[$0], in: newPlan, flow: newFlow.id) }
                let links = self.links
                let held = affected.map { links[$0] }
                let drains: [Set<Int>] = affected.map { i in
                    let instance = oldPlan.instances[i]
                    return Set(instance.slots.indices.filter { diff.removed.contains(instance.slots[$0].module) })
                }
                try await loop.submit { for (link, drain) in zip(held, drains) { link.beginHold(drain: drain) } }.get()
                let debugger = self.debugger
                do {
                    try await loop.flatSubmit { debugger.whenQuiet(timeout: Self.stepTimeout, only: held) }.get()
                } catch {
                    await release(oldLinks: links, newPlan: oldPlan, newLinks: links)
                    throw RunnerError.swapTimedOut(flow: oldPlan.flow.id)
                }
                action = machine.drained()
            case .collectStates:
                // Modules that move to another runtime, and those that leave (for another runner, maybe):
                // their instances are drained, so a report is their state after exactly what they finished.
                let reported = Set(diff.moved).union(diff.removed)
                // Nothing more runs for removed modules once drained: a message for them now waits (and
                // follows them to their new place), so the state read next is after exactly what they did.
                let links = self.links
                try? await loop.submit { for link in links { link.stopDraining() } }.get()
                for (i, instance) in instances.enumerated() where oldPlan.instances[i].modules.contains(where: { reported.contains($0.id) }) {
                    let report = await instance.requestReport()
                    for id in diff.moved { if let s = report.states[id] { moved[id] = s } }
                    for id in diff.removed { if let s = report.states[id] { departedStates[id] = s } }
                }
                for id in diff.moved where moved[id] == nil { moved[id] = records[id]?.moduleState }
                for id in diff.removed where departedStates[id] == nil { departedStates[id] = records[id]?.moduleState }
                action = machine.statesCollected()
            case .swapInstances:
                let oldLinks = links
                let newLinks = await rewire(oldPlan: oldPlan, newPlan: newPlan, diff: diff, moved: moved, arriving: Set(arriving.keys))
                action = machine.instancesSwapped()
                await release(oldLinks: oldLinks, newPlan: newPlan, newLinks: newLinks)
                action = machine.released()
            case .release, .refuse, .finish:
                return diff
            }
        }
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
    /// those left empty; returns the links of the new plan, in its order.
    private func rewire(oldPlan: FlowPlan, newPlan: FlowPlan, diff: FlowDiff, moved: [ModuleID: JSONValue],
                        arriving: Set<ModuleID>) async -> [InstanceLink] {
        let oldByKind = Dictionary(uniqueKeysWithValues: oldPlan.instances.enumerated().map { ($1.key, $0) })
        // Modules new to the flow run `init`; those arriving from another runner start from their state.
        let added = Set(diff.added).subtracting(arriving)
        var newLinks: [InstanceLink] = []
        var newInstances: [RuntimeInstance] = []
        var newStatus: [InstanceStatus] = []
        var failures: [RunnerError.LoadError] = []
        // What the old processes committed for modules that leave them (the instances are idle, so it is all they did).
        var movedCounters: [ModuleID: RuntimeMessage.ModuleStats] = [:]
        let leaving = Set(diff.moved).union(diff.removed)
        for link in links {
            let taken = (try? await link.loop.submit { link.takeCommitted(leaving) }.get()) ?? [:]
            movedCounters.merge(taken) { _, new in new }
        }
        for instancePlan in newPlan.instances {
            let kind = instancePlan.runtime
            if let i = oldByKind[instancePlan.key] {
                let instance = instances[i]
                let load = diff.toLoad(in: instancePlan.key, new: newPlan.flow)
                let drop = diff.toDrop(in: instancePlan.key, old: oldPlan.flow)
                if Self.runtimeChanges(oldPlan.instances[i], in: newPlan, flow: newPlan.flow.id) {
                    let results = await instance.swap(to: instancePlan, load: load, remove: drop,
                                                      states: moved.filter { load.contains($0.key) },
                                                      newModules: added.intersection(load))
                    for (m, r) in results where !r.ok {
                        failures.append(.init(module: m, runtime: kind, error: r.error ?? "unknown error", line: r.line))
                    }
                }
                newLinks.append(links[i])
                newInstances.append(instance)
                var status = instanceStatus[i]
                status.modules = instancePlan.modules.map(\.id)
                newStatus.append(status)
            } else {
                let link = InstanceLink(loop: dataPath.loop, flow: newPlan.flow.id, runtime: kind, slots: instancePlan.slots,
                                        window: configuration.window, queueBound: configuration.queueBound,
                         cycleQueueBound: configuration.cycleQueueBound)
                link.watcher = debugger
                let instance = Self.makeInstance(instancePlan, link: link, flow: newPlan.flow.id, runtimes: runtimes,
                                                 configuration: configuration, locator: locator, states: moved,
                                                 runInit: added, logger: logger, reports: reportsContinuation)
                // Connected before it starts, so that it gets its routes (and a
                // data path: its channel flushes through it from the first read).
                let dataPath = self.dataPath
                try? await dataPath.loop.submit {
                    link.dataPath = dataPath
                    link.beginHold(drain: [])
                }.get()
                newLinks.append(link)
                newInstances.append(instance)
                newStatus.append(InstanceStatus(runtime: kind, state: .starting, pid: nil, restarts: 0, reason: nil,
                                                modules: instancePlan.modules.map(\.id), environment: instancePlan.key.environment))
            }
        }
        // The plan and records change now; the links are rewired on the loop in `release`.
        let retired = oldPlan.instances.enumerated().filter { newPlan.instances.map(\.key).contains($0.element.key) == false }.map { instances[$0.offset] }
        plan = newPlan
        instances = newInstances
        instanceStatus = newStatus
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
        for (i, instance) in newInstances.enumerated() where oldByKind[newPlan.instances[i].key] == nil {
            do {
                let results = try await instance.start()
                for (m, r) in results where !r.ok { records[m]?.state = .loadError; _ = r }
            } catch {
                logger.error("a new runtime instance did not start in a swap", metadata: ["error": "\(error)"])
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for instance in retired { group.addTask { await instance.stop() } }
        }
        return newLinks
    }

    /// Rewires the links for `newPlan`, moves held messages to their new link
    /// and slot (recording those whose module or port is gone) and lets
    /// traffic flow again.
    private func release(oldLinks: [InstanceLink], newPlan: FlowPlan, newLinks: [InstanceLink]) async {
        let dataPath = self.dataPath
        let debugger = self.debugger
        let dropped: [(Endpoint, ByteBuffer)] = (try? await dataPath.loop.submit { () -> [(Endpoint, ByteBuffer)] in
            // Held messages carry the old slot numbers of their old link.
            var pending: [(Endpoint, ByteBuffer)] = []
            var every = oldLinks
            for link in newLinks where !every.contains(where: { $0 === link }) { every.append(link) }
            for link in every {
                let slots = link.slots
                pending += link.endHold().map { (slots[$0.slot], $0.payload) }
                link.resetCongestion()
            }
            for (link, instance) in zip(newLinks, newPlan.instances) { link.replaceSlots(instance.slots) }
            dataPath.connect(newLinks, plan: newPlan, register: true)
            var dropped = debugger.relink(newLinks) { endpoint in
                newPlan.inputSlot(module: endpoint.module, port: endpoint.port).map { (link: newLinks[$0.instance], slot: $0.slot) }
            }
            for (endpoint, payload) in pending {
                if let (l, slot) = newPlan.inputSlot(module: endpoint.module, port: endpoint.port) {
                    newLinks[l].enqueue(slot: slot, payload: payload)
                } else if dataPath.peers.runsElsewhere(flow: newPlan.flow.id, module: endpoint.module), let sender = newLinks.first {
                    // The module moved to another runner: its messages follow it.
                    dataPath.peers.send(flow: newPlan.flow.id, target: endpoint, payload: payload, from: sender)
                } else {
                    dropped.append((endpoint, payload))
                }
            }
            dataPath.peers.deliverParked(flow: newPlan.flow.id)
            dataPath.flushDirty()
            for link in newLinks { link.flush() }
            return dropped
        }.get()) ?? []
        links = newLinks
        for (endpoint, payload) in dropped {
            record(error: ModuleErrorReport(module: endpoint.module, port: endpoint.port,
                                            payload: try? JSONValue(parsing: Data(payload.readableBytesView), nesting: .userValue),
                                            message: "message dropped by a hot swap: \"\(endpoint)\" no longer exists in the new version of the flow",
                                            stack: nil), origin: .host)
        }
        swapping = false
        let waiters = swapWaiters
        swapWaiters.removeAll()
        for w in waiters { w.resume() }
    }
}
