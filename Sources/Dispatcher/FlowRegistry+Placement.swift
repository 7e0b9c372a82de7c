import FlowModel
import Foundation
import RunnerProtocol

/// Placing the flows on the runners and sending each runner its part
/// (docs/runner-protocol.md, "Placement", "Commands").
extension FlowRegistry {
    /// Every module of every flow placed on the runners there are now (stable: what can stay, stays).
    func placeAll() async -> [FlowModuleID: ModulePlacement] {
        let modules = flows.values.flatMap { PlacementModule.modules(of: $0.flow) }
        return Placement.place(modules, on: await directory.placementRunners(), current: placement)
    }

    /// A runner joined or was lost: places every flow again and sends the
    /// runners whose part changed their new part (new placements, routes).
    public func runnersChanged() async {
        await gate.runQuietly { await self.replaceAllNow() }
    }

    private func replaceAllNow() async {
        let before = placement
        placement = await placeAll()
        for id in flows.keys.sorted() {
            guard let stored = flows[id] else { continue }
            // States of modules that move: fresh from the runner they leave when it is still there, else the last saved.
            var states = stored.restorableStates
            let moving = stored.flow.modules.filter { m in
                let key = FlowModuleID(flow: id, module: m.id)
                return before[key]?.runner != nil && before[key]?.runner != placement[key]?.runner
            }
            if !moving.isEmpty, let fresh = try? await runnerStatus(id).first {
                for m in fresh.modules where moving.contains(where: { $0.id == m.id }) { if let s = m.moduleState { states[m.id] = s } }
            }
            do {
                try await deployParts(stored.flow, breakpoints: stored.breakpoints, revision: stored.revision,
                                      start: stored.started, states: states, previous: before)
            } catch {
                logger.error("could not place flow \(id) again: \(error)")
            }
        }
    }

    /// Sends each runner of `flow` its part: the modules placed on it (with
    /// their generations, and `states` for those new to it), where the others
    /// are, and the flow's breakpoints; removes the flow from runners that
    /// no longer have any of it. Runners that get modules go first, so a
    /// module that moves is up at its new place before the old one lets go.
    /// `startNewParts`: a runner that has no part of the flow yet starts its part in the deploy
    /// (a hot swap of a running flow that moves a module to a runner new to the flow; its other
    /// runners swap and keep running).
    func deployParts(_ flow: FlowDocument, breakpoints: [Breakpoint], revision: Int, start: Bool,
                     states: [ModuleID: JSONValue], previous: [FlowModuleID: ModulePlacement]? = nil,
                     startNewParts: Bool = false) async throws {
        let previous = previous ?? placement
        var byRunner: [RunnerID: [PlacedModule]] = [:]
        var sessions: [RunnerID: Int] = [:]
        for m in flow.modules {
            let key = FlowModuleID(flow: flow.id, module: m.id)
            guard case .placed(let runner, let gen) = placement[key] else { continue }
            if sessions[runner] == nil { sessions[runner] = await directory.session(runner) ?? 0 }
            let arrives = previous[key]?.runner != runner || deployedOn[flow.id]?[runner] == nil
            byRunner[runner, default: []].append(PlacedModule(module: m.id, gen: gen, state: arrives ? states[m.id] : nil))
        }
        let old = deployedOn[flow.id] ?? [:]
        var parts: [RunnerID: DeployedPart] = [:]
        for (runner, placed) in byRunner {
            let mine = breakpoints.filter { b in placed.contains { $0.module == b.module } }
            let routes = byRunner.filter { $0.key != runner }.flatMap { other, modules in
                modules.map { RemoteRoute(module: $0.module, runner: other, session: sessions[other] ?? 0, gen: $0.gen) }
            }.sorted { $0.module < $1.module }
            parts[runner] = DeployedPart(session: sessions[runner] ?? 0, placed: Dictionary(placed.map { ($0.module, $0.gen) }) { a, _ in a },
                                         routes: routes, flow: flow, breakpoints: mine)
        }
        // Runners that gain modules first (a module that moves is up at its new
        // place, and its senders route to it, before the old place lets go), then the others; departures last.
        func gains(_ r: RunnerID) -> Bool { !Set(parts[r]!.placed.keys).subtracting(old[r]?.placed.keys ?? [:].keys).isEmpty }
        let order = parts.keys.sorted { a, b in
            let (ga, gb) = (gains(a), gains(b))
            return ga != gb ? ga : a < b
        }
        // States of modules that arrive from a runner still connected: fresh from there.
        var states = states
        var leaving: [RunnerID: [ModuleID]] = [:]
        for (runner, placed) in byRunner {
            for p in placed where p.state == nil || previous[FlowModuleID(flow: flow.id, module: p.module)]?.runner != nil {
                if let from = previous[FlowModuleID(flow: flow.id, module: p.module)]?.runner, from != runner {
                    leaving[from, default: []].append(p.module)
                }
            }
        }
        for (from, modules) in leaving {
            guard let link = await directory.link(from), case .status(let list) = await link.send(.status(flow.id)) else { continue }
            for m in list.first?.modules ?? [] where modules.contains(m.id) { if let s = m.moduleState { states[m.id] = s } }
        }
        let (handedOver, released) = try await releaseLiveMoves(flow, byRunner: byRunner, sessions: sessions, parts: parts, old: old,
                                                    previous: previous, revision: revision, start: start, states: &states)
        for (runner, placed) in byRunner {
            byRunner[runner] = placed.map { p in
                var p = p
                if p.state != nil || leaving.values.contains(where: { $0.contains(p.module) }) { p.state = states[p.module] ?? p.state }
                return p
            }
        }
        // A paused flow stays paused: a runner that gets a part of it now holds its messages too.
        var paused = false
        if !old.isEmpty, parts.keys.contains(where: { old[$0] == nil }) {
            for (id, _) in old.sorted(by: { $0.key < $1.key }) {
                guard let link = await directory.link(id), case .status(let list) = await link.send(.status(flow.id)) else { continue }
                if list.first?.state == .paused { paused = true; break }
            }
        }
        var done: [RunnerID] = []
        for runner in order {
            guard let part = parts[runner], let link = await directory.link(runner) else { continue }
            if old[runner] == part { continue }
            let placed = byRunner[runner] ?? []
            let reply = await link.send(.deploy(RemoteDeploy(flow: flow, placed: placed, routes: part.routes, breakpoints: part.breakpoints,
                                                             revision: revision, start: start || (startNewParts && old[runner] == nil),
                                                             paused: paused && old[runner] == nil, handedOver: handedOver.sorted())))
            if case .failure(let code, let message) = reply {
                // A new flow that does not load anywhere is deployed nowhere.
                if old.isEmpty { for r in done { _ = await directory.link(r)?.send(.remove(flow.id)) } }
                throw APIError.runner(code: code, message: parts.count > 1 ? "on runner \(runner): \(message)" : message)
            }
            done.append(runner)
            // The `paused` in the deploy holds from the start; a runner that does not know it (older, or a browser) pauses now.
            if paused, old[runner] == nil { _ = await link.send(.pause(flow.id)) }
        }
        // Where every placed module runs now: injected messages follow the modules, and a runner that let
        // go of its whole part sends on what it held for modules that moved before the flow leaves it.
        let everywhere = byRunner.flatMap { runner, modules in
            modules.map { RemoteRoute(module: $0.module, runner: runner, session: sessions[runner] ?? 0, gen: $0.gen) }
        }.sorted { $0.module < $1.module }
        for runner in old.keys.sorted() where parts[runner] == nil {
            guard let link = await directory.link(runner) else { continue }
            if released.contains(runner) { _ = await link.send(.routes(flow: flow.id, routes: everywhere)) }
            _ = await link.send(.remove(flow.id))
        }
        deployedOn[flow.id] = parts
        await directory.injector.setRoutes(flow: flow.id, modules: flow.modules.map(\.id), routes: everywhere, handedOver: handedOver)
    }

    /// A module that moves away from a runner that is still connected is handed over exactly
    /// (docs/runner-protocol.md, "Moves"): before anything routes to its new place, its old
    /// runner gets its new part without it, finishes what was queued for it, stops it and
    /// replies `released` with its state after the last message it finished; the new place
    /// starts from that state (`states`). Frames still on their way to the old place are
    /// refused there and sent on by their senders. The old runner's routes leave out every
    /// module that moves (they are not up at their new place yet; its frames for them wait)
    /// until its final part comes (or, when it keeps nothing of the flow, until the `routes`
    /// sent just before its `remove`). Returns the modules handed over and the runners that let them go.
    private func releaseLiveMoves(_ flow: FlowDocument, byRunner: [RunnerID: [PlacedModule]], sessions: [RunnerID: Int],
                                  parts: [RunnerID: DeployedPart],
                                  old: [RunnerID: DeployedPart], previous: [FlowModuleID: ModulePlacement],
                                  revision: Int, start: Bool,
                                  states: inout [ModuleID: JSONValue]) async throws -> (handedOver: Set<ModuleID>, released: Set<RunnerID>) {
        var moving: Set<ModuleID> = []
        var leavingLive: [RunnerID: Set<ModuleID>] = [:]
        for m in flow.modules {
            let key = FlowModuleID(flow: flow.id, module: m.id)
            let from = previous[key]?.runner, to = placement[key]?.runner
            guard from != to else { continue }
            moving.insert(m.id)
            if let from, to != nil, old[from] != nil, await directory.link(from) != nil { leavingLive[from, default: []].insert(m.id) }
        }
        var handedOver: Set<ModuleID> = []
        var released: Set<RunnerID> = []
        for from in leavingLive.keys.sorted() {
            guard let link = await directory.link(from), let modules = leavingLive[from] else { continue }
            let part = parts[from]
            // Where the modules that stay put run (what the leaving modules finish sends there); a runner that
            // leaves the flow has no part, and so no routes of its own.
            let routes = byRunner.filter { $0.key != from }.flatMap { runner, modules in
                modules.filter { !moving.contains($0.module) }
                    .map { RemoteRoute(module: $0.module, runner: runner, session: sessions[runner] ?? 0, gen: $0.gen) }
            }.sorted { $0.module < $1.module }
            let reply = await link.send(.deploy(RemoteDeploy(flow: flow, placed: byRunner[from] ?? [], routes: routes,
                                                             breakpoints: part?.breakpoints ?? [], revision: revision, start: start)))
            switch reply {
            case .released(let finalStates):
                for m in modules { if let s = finalStates[m] { states[m] = s } }
                handedOver.formUnion(modules)
                released.insert(from)
            case .failure(let code, let message):
                // A runner leaving the flow that cannot let its part go drained: its modules move as after a loss.
                guard part != nil else {
                    logger.warning("runner \(from) did not let go of \(flow.id) drained (\(code): \(message)); its modules move without a hand-over")
                    continue
                }
                throw APIError.runner(code: code, message: "on runner \(from): \(message)")
            default:
                // A runner that does not report states (older, or a browser) let them go drained; their last reported states go.
                handedOver.formUnion(modules)
                released.insert(from)
            }
        }
        return (handedOver, released)
    }

    /// Sends the flow's runners a command; the first failure is thrown (after all were sent).
    func sendToParts(_ flow: FlowID, _ command: RunnerCommand) async throws {
        var failure: RunnerReply?
        for (_, link) in await links(of: flow) {
            let reply = await link.send(command)
            if case .failure = reply, failure == nil { failure = reply }
        }
        if let failure { try check(failure) }
    }

    /// Removes a flow from every runner it is on (best effort).
    func removeParts(_ flow: FlowID) async {
        for (_, link) in await links(of: flow) { _ = await link.send(.remove(flow)) }
        deployedOn[flow] = nil
        await directory.injector.forget(flow: flow)
    }

    /// The runners a flow is deployed on (every connected runner when `flow` is nil), with their links.
    func links(of flow: FlowID?) async -> [(RunnerID, any RunnerLink)] {
        let ids: [RunnerID]
        if let flow {
            ids = (deployedOn[flow] ?? [:]).keys.sorted()
        } else {
            ids = Set(deployedOn.values.flatMap(\.keys)).sorted()
        }
        var out: [(RunnerID, any RunnerLink)] = []
        for id in ids { if let link = await directory.link(id) { out.append((id, link)) } }
        return out
    }

    /// The runner a module runs on; an error saying why when it runs nowhere.
    func runnerOf(_ target: FlowModuleID) async throws -> any RunnerLink {
        let stored = try stored(target.flow)
        guard stored.flow.module(target.module) != nil else {
            throw APIError.runner(RunnerError.unknownModule(target.flow, target.module, known: stored.flow.modules.map(\.id.rawValue)))
        }
        switch placement[target] {
        case .placed(let runner, _):
            guard let link = await directory.link(runner) else {
                throw APIError.runner(code: .runnerLost, message: "module \(target) is on runner \(runner), which is not connected; it will be placed again")
            }
            return link
        case .unplaced(let reason, _):
            throw APIError.runner(code: .unplaced, message: "module \(target) runs on no runner yet: \(reason)")
        case nil:
            throw APIError.runner(code: .unplaced, message: "module \(target) runs on no runner yet")
        }
    }

    func check(_ reply: RunnerReply) throws {
        if case .failure(let code, let message) = reply { throw APIError.runner(code: code, message: message) }
    }
}

extension FlowRegistry {
    /// Every connected runner with its link, by id.
    func connectedLinks() async -> [(RunnerID, any RunnerLink)] {
        var out: [(RunnerID, any RunnerLink)] = []
        for entry in await directory.list() where entry.info.state != .lost {
            if let link = await directory.link(entry.info.id) { out.append((entry.info.id, link)) }
        }
        return out
    }

    /// The placement table now (for admitting a runner that comes back).
    public func currentPlacement() -> [FlowModuleID: ModulePlacement] { placement }
}
