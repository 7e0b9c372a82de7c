/// The part of a flow one runner runs.
extension FlowDocument {
    /// The modules in `placed`, with every connection that leaves one of them
    /// (its target may run elsewhere: `FlowPlan` makes that a remote route).
    /// Connections into `placed` from modules elsewhere are the senders' business.
    public func restricted(to placed: Set<ModuleID>) -> FlowDocument {
        FlowDocument(id: id, description: description, modules: modules.filter { placed.contains($0.id) },
                     connections: connections.filter { placed.contains($0.from.module) })
    }

    /// The modules in `placed` that lie on a cycle passing through a module
    /// placed elsewhere (`gen → remote → sink` with `gen` and `sink` here).
    /// A runtime that runs one of them cannot be held back for what waits to
    /// go out without risking a stall: the messages coming back can only be
    /// handled once it writes again (see docs/architecture.md, "Cross-runner data", back pressure).
    public func modulesOnCrossRunnerCycles(placed: Set<ModuleID>) -> Set<ModuleID> {
        var next: [ModuleID: Set<ModuleID>] = [:]
        for c in connections { next[c.from.module, default: []].insert(c.to.module) }
        func reach(from start: ModuleID) -> Set<ModuleID> {
            var seen: Set<ModuleID> = []
            var todo = Array(next[start] ?? [])
            while let m = todo.popLast() {
                guard seen.insert(m).inserted else { continue }
                todo += next[m] ?? []
            }
            return seen
        }
        var out: Set<ModuleID> = []
        for m in placed {
            let ahead = reach(from: m)
            for e in ahead where !placed.contains(e) {
                if reach(from: e).contains(where: placed.contains) { out.insert(m); break }
            }
        }
        return out
    }
}
