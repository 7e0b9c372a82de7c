import FlowModel
import RunnerProtocol

extension Placement {
    /// After a dispatcher restart: the placement the runners report in their
    /// `hello.modules`, to pass as `current` so that `place` keeps modules
    /// where they run (when still valid) and goes on from their generations.
    /// A module reported by two runners goes to the higher generation (then
    /// the smaller runner id); the other runner gets it in `welcome.drop`
    /// (`RunnerAdmission.decide` with this placement).
    public static func adopt(_ reports: [RunnerID: [ModuleLease]]) -> [FlowModuleID: ModulePlacement] {
        var result: [FlowModuleID: ModulePlacement] = [:]
        for (runner, leases) in reports.sorted(by: { $0.key < $1.key }) {
            for lease in leases {
                let id = FlowModuleID(flow: lease.flow, module: lease.module)
                if let existing = result[id], existing.gen >= lease.gen { continue }
                result[id] = .placed(runner, gen: lease.gen)
            }
        }
        return result
    }

    /// What changed between two placements: the modules to deploy, move,
    /// stop or leave waiting, in module order.
    public static func moves(from old: [FlowModuleID: ModulePlacement], to new: [FlowModuleID: ModulePlacement]) -> [PlacementMove] {
        var moves: [PlacementMove] = []
        for id in Set(old.keys).union(new.keys).sorted(by: { ($0.flow, $0.module) < ($1.flow, $1.module) }) {
            let before = old[id]?.runner, after = new[id]?.runner
            if before != after || old[id]?.gen != new[id]?.gen {
                moves.append(PlacementMove(module: id, from: before, to: after, gen: new[id]?.gen ?? old[id]?.gen ?? 0))
            }
        }
        return moves
    }
}

/// One module whose place changed: `from` nil = newly placed, `to` nil =
/// unplaced or removed; `gen` is its generation after the change.
public struct PlacementMove: Hashable, Sendable {
    public var module: FlowModuleID
    public var from: RunnerID?
    public var to: RunnerID?
    public var gen: Int
    public init(module: FlowModuleID, from: RunnerID?, to: RunnerID?, gen: Int) {
        self.module = module; self.from = from; self.to = to; self.gen = gen
    }
}
