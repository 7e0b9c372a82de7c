import FlowModel
import Foundation
import NIOCore
import RunnerProtocol

/// What the host keeps of one runtime process's commits (docs/protocol.md,
/// "Commits"): a `commit` frame is staged, and kept only when the ack frame
/// that follows it arrives. When the process dies, what was kept is the state
/// and the counters after exactly the messages that are not delivered again;
/// a staged commit without its ack is dropped with the messages it covered.
///
/// Entries are kept as JSON text (`CommitScanner`) and decoded only when
/// they are needed: when the process ends or a module leaves it.
/// A value; the `InstanceLink` that holds it is confined to the event loop.
struct CommitLedger {
    typealias Stats = RuntimeMessage.ModuleStats

    /// One module's last committed entry, and the last one that carried a state.
    struct Kept {
        var latest: ByteBuffer
        var withState: ByteBuffer?
    }

    private var committed: [ModuleID: Kept] = [:]
    private var staged: [ModuleID: Kept]?
    /// Modules whose committed state changed since `takeChangedStates` (for `states` reports).
    private var changed: Set<ModuleID> = []

    /// A `commit` frame arrived, split by `CommitScanner`: kept once its ack arrives.
    mutating func stage(_ entries: [CommitScanner.Entry]) {
        var next = staged ?? [:]
        for entry in entries {
            let id = ModuleID(entry.module)
            next[id] = Kept(latest: entry.json, withState: entry.hasState ? entry.json : next[id]?.withState)
        }
        staged = next
    }

    /// A `commit` frame that only a JSON decoder could read (not in the compact form).
    mutating func stage(decoded modules: [ModuleID: Stats]) {
        stage(modules.compactMap { id, stats in
            (try? JSONEncoder().encode(stats)).map {
                CommitScanner.Entry(module: id.rawValue, json: ByteBuffer(bytes: $0), hasState: stats.state != nil)
            }
        })
    }

    /// An ack frame arrived: the commit before it (if any) is kept.
    mutating func acked() {
        guard let staged else { return }
        for (id, kept) in staged {
            committed[id] = Kept(latest: kept.latest, withState: kept.withState ?? committed[id]?.withState)
            if kept.withState != nil { changed.insert(id) }
        }
        self.staged = nil
    }

    /// The committed states that changed since the last call: what a runner reports in `states`
    /// (the state after exactly the acknowledged messages, never ahead of them).
    mutating func takeChangedStates() -> [ModuleID: JSONValue] {
        var out: [ModuleID: JSONValue] = [:]
        for id in changed {
            guard let withState = committed[id]?.withState,
                  let state = try? JSONValueDecoder().decode(Stats.self, from: Data(withState.readableBytesView)).state else { continue }
            out[id] = state
        }
        changed = []
        return out
    }

    /// Takes the entries of `modules` out (they leave the process in a hot swap).
    mutating func take(_ modules: Set<ModuleID>) -> [ModuleID: Stats] {
        var taken: [ModuleID: Stats] = [:]
        for id in modules { taken[id] = committed.removeValue(forKey: id).flatMap(Self.decode) }
        changed.subtract(modules)
        return taken
    }

    /// The process ended: what it committed; the ledger starts afresh for the next one.
    mutating func end() -> [ModuleID: Stats] {
        let kept = committed.compactMapValues(Self.decode)
        self = CommitLedger()
        return kept
    }

    /// Counters from the latest entry; the state from the latest entry that had one.
    private static func decode(_ kept: Kept) -> Stats? {
        // One pass (`JSONValueDecoder`): a state is read off the parsed tree, whatever its depth.
        guard var stats = try? JSONValueDecoder().decode(Stats.self, from: Data(kept.latest.readableBytesView)) else { return nil }
        if stats.state == nil, let withState = kept.withState {
            stats.state = try? JSONValueDecoder().decode(Stats.self, from: Data(withState.readableBytesView)).state
        }
        return stats
    }
}
