import FlowModel

/// What the host keeps of one runtime process's commits (docs/protocol.md,
/// "Commits"): a `commit` frame is staged, and kept only when the ack frame
/// that follows it arrives. When the process dies, what was kept is the state
/// and the counters after exactly the messages that are not delivered again;
/// a staged commit without its ack is dropped with the messages it covered.
///
/// A pure value; the `InstanceLink` that holds it is confined to the event loop.
struct CommitLedger: Sendable, Equatable {
    typealias Stats = RuntimeMessage.ModuleStats

    /// Per module: counters (totals since the process started) and the last state a commit carried.
    private(set) var committed: [ModuleID: Stats] = [:]
    private var staged: [ModuleID: Stats]?

    /// A `commit` frame arrived: kept once its ack arrives.
    mutating func stage(_ modules: [ModuleID: Stats]) {
        staged = Self.merged(staged ?? [:], modules)
    }

    /// An ack frame arrived: the commit before it (if any) is kept.
    mutating func acked() {
        guard let staged else { return }
        committed = Self.merged(committed, staged)
        self.staged = nil
    }

    /// Takes the entries of `modules` out (they leave the process in a hot swap).
    mutating func take(_ modules: Set<ModuleID>) -> [ModuleID: Stats] {
        var taken: [ModuleID: Stats] = [:]
        for id in modules { taken[id] = committed.removeValue(forKey: id) }
        return taken
    }

    /// The process ended: what it committed; the ledger starts afresh for the next one.
    mutating func end() -> [ModuleID: Stats] {
        let kept = committed
        self = CommitLedger()
        return kept
    }

    /// `newer` over `older`, module by module; a module without a state in `newer` keeps its older state.
    private static func merged(_ older: [ModuleID: Stats], _ newer: [ModuleID: Stats]) -> [ModuleID: Stats] {
        var result = older
        for (id, stats) in newer {
            var entry = stats
            if entry.state == nil { entry.state = older[id]?.state }
            result[id] = entry
        }
        return result
    }
}
