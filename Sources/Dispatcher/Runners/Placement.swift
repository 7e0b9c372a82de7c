import FlowModel

/// Where each module runs, as a pure function of the modules, the runners
/// and the current placement (docs/runner-protocol.md, "Placement"):
///
/// 1. A module may go to a runner that has its runtime and all its
///    `requireTags`, and is `live` (a `suspect` runner keeps what it has but
///    takes nothing new; `joining` and `lost` runners hold nothing).
/// 2. `tags` are preferences: runners with all of them come first; when none
///    of those can take it, any runner of rule 1 does.
/// 3. The modules of one flow on one runtime with the same `tags` and
///    `requireTags` are one group, placed together, so their hops stay
///    direct calls inside one runtime instance. Groups the tags split prefer
///    a runner that already hosts the same flow and runtime, then the least
///    loaded runner, then the smallest runner id.
/// 4. Stable: a group stays where (most of) it is while that runner still
///    satisfies rules 1 and 2, so a change moves only what must move: the
///    modules of a lost runner, of one that no longer fits, or (rule 2) of a
///    fallback runner once a runner with the preferred tags can take them.
/// 5. Each module has a generation: unchanged while it stays, one more each
///    time it is placed on another runner (or placed again after being unplaced).
public enum Placement {
    /// Places `modules` on `runners`. `current` is the previous result (or
    /// empty); modules not in `modules` are forgotten. A runner's `load` is
    /// what it carries besides these modules (0 when all flows are placed in
    /// one call): a group's size is added to the runner it goes to.
    public static func place(_ modules: [PlacementModule], on runners: [PlacementRunner],
                             current: [FlowModuleID: ModulePlacement] = [:]) -> [FlowModuleID: ModulePlacement] {
        var load = Dictionary(runners.map { ($0.id, $0.load) }, uniquingKeysWith: { a, _ in a })
        var hosts = Set<HostKey>()
        var result: [FlowModuleID: ModulePlacement] = [:]

        let groups = Dictionary(grouping: modules, by: GroupKey.init).map { key, members in
            Group(key: key, members: members.sorted { $0.module < $1.module })
        }
        // Groups that can stay where they are go first, so their load counts
        // when the others choose; then the rest, in a fixed order.
        var staying: [(Group, PlacementRunner)] = []
        var moving: [Group] = []
        for group in groups {
            if let runner = stayingRunner(for: group, runners: runners, current: current) { staying.append((group, runner)) }
            else { moving.append(group) }
        }
        for (group, runner) in staying {
            assign(group, to: runner.id, current: current, load: &load, hosts: &hosts, result: &result)
        }
        for group in moving.sorted(by: { $0.key < $1.key }) {
            let eligible = runners.filter { $0.state.takesModules && $0.fits(group.key) }
            guard !eligible.isEmpty else {
                let reason = unplacedReason(group.key, runners: runners)
                for m in group.members {
                    let id = m.id
                    result[id] = .unplaced(reason, gen: current[id]?.gen ?? 0)
                }
                continue
            }
            let preferred = eligible.filter { $0.prefers(group.key) }
            let pool = preferred.isEmpty ? eligible : preferred
            let host = HostKey(flow: group.key.flow, runtime: group.key.runtime)
            let best = pool.min { a, b in
                let ha = hosts.contains(host.on(a.id)), hb = hosts.contains(host.on(b.id))
                if ha != hb { return ha }
                let la = load[a.id] ?? 0, lb = load[b.id] ?? 0
                if la != lb { return la < lb }
                return a.id < b.id
            }!
            assign(group, to: best.id, current: current, load: &load, hosts: &hosts, result: &result)
        }
        return result
    }

    /// The runner a group may stay on: the one most of its placed members are
    /// on, if it still keeps modules, fits the group and (for tags) is among
    /// the preferred runners whenever a preferred runner could take it.
    static func stayingRunner(for group: Group, runners: [PlacementRunner], current: [FlowModuleID: ModulePlacement]) -> PlacementRunner? {
        var counts: [RunnerID: Int] = [:]
        for m in group.members { if case .placed(let r, _)? = current[m.id] { counts[r, default: 0] += 1 } }
        guard let top = counts.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key })?.key,
              let runner = runners.first(where: { $0.id == top }),
              runner.state.keepsModules, runner.fits(group.key) else { return nil }
        if runner.prefers(group.key) { return runner }
        let preferredAvailable = runners.contains { $0.state.takesModules && $0.fits(group.key) && $0.prefers(group.key) }
        return preferredAvailable ? nil : runner
    }

    static func assign(_ group: Group, to runner: RunnerID, current: [FlowModuleID: ModulePlacement],
                       load: inout [RunnerID: Int], hosts: inout Set<HostKey>, result: inout [FlowModuleID: ModulePlacement]) {
        for m in group.members {
            let id = m.id
            switch current[id] {
            case .placed(let r, let gen)? where r == runner: result[id] = .placed(runner, gen: gen)
            case let previous?: result[id] = .placed(runner, gen: previous.gen + 1)
            case nil: result[id] = .placed(runner, gen: 1)
            }
        }
        load[runner, default: 0] += group.members.count
        hosts.insert(HostKey(flow: group.key.flow, runtime: group.key.runtime, runner: runner))
    }

    static func unplacedReason(_ key: GroupKey, runners: [PlacementRunner]) -> UnplacedReason {
        let withRuntime = runners.filter { $0.state != .lost && $0.runtimes.contains(key.runtime) }
        if withRuntime.isEmpty { return .noRunnerWithRuntime(key.runtime) }
        let fitting = withRuntime.filter { $0.fits(key) }
        if fitting.isEmpty { return .noRunnerWithRequiredTags(key.runtime, key.requireTags.sorted()) }
        return .noLiveRunner(key.runtime, fitting.map(\.id).sorted())
    }

    /// Modules placed together: one flow, one runtime, the same constraints.
    struct GroupKey: Hashable, Comparable {
        var flow: FlowID
        var runtime: RuntimeKind
        var tags: Set<String>
        var requireTags: Set<String>

        init(_ m: PlacementModule) { flow = m.flow; runtime = m.runtime; tags = m.tags; requireTags = m.requireTags }

        static func < (a: GroupKey, b: GroupKey) -> Bool {
            (a.flow, a.runtime, a.requireTags.sorted().joined(separator: ","), a.tags.sorted().joined(separator: ","))
                < (b.flow, b.runtime, b.requireTags.sorted().joined(separator: ","), b.tags.sorted().joined(separator: ","))
        }
    }

    struct Group { var key: GroupKey; var members: [PlacementModule] }

    /// A runner already hosting modules of a flow on a runtime.
    struct HostKey: Hashable {
        var flow: FlowID
        var runtime: RuntimeKind
        var runner: RunnerID?
        func on(_ runner: RunnerID) -> HostKey { HostKey(flow: flow, runtime: runtime, runner: runner) }
    }
}

extension PlacementRunner {
    func fits(_ key: Placement.GroupKey) -> Bool { runtimes.contains(key.runtime) && key.requireTags.isSubset(of: tags) }
    func prefers(_ key: Placement.GroupKey) -> Bool { key.tags.isSubset(of: tags) }
}
