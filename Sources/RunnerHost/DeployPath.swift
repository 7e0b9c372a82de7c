import FlowModel
import RunnerProtocol

/// Which way a `deploy` of a flow goes on this runner, decided from what runs here now
/// (pure: `RunnerHost.deploy` carries it out).
enum DeployPath: Equatable, Sendable {
    /// The same modules here as now: only the placement of the others (already applied) or
    /// breakpoints changed.
    case unchanged
    /// A flow new here, started at once: its real instances are the load check (each runtime
    /// starts once); nothing is deployed when one does not load.
    case startNew
    /// A flow running here (running, degraded or paused): a hot swap, after its own load check.
    case swap
    /// Anything else (a flow deployed and not running, or new and not started): a load check,
    /// then a new run replaces the old one with its states and waiting messages, started again
    /// when the old one ran.
    case replace

    /// - Parameters:
    ///   - old: the flow as it runs here now (its modules here, and its state), nil when it is new here.
    ///   - new: the flow's modules here from now on.
    static func decide(old: (flow: FlowDocument, state: FlowRunState)?, new: FlowDocument, start: Bool) -> DeployPath {
        guard let old else { return start ? .startNew : .replace }
        if old.flow == new { return .unchanged }
        return [.running, .degraded, .paused].contains(old.state) ? .swap : .replace
    }

    /// The states a replacing run starts from: modules new here take the states they come with
    /// (`restored`: from another runner, or saved); modules that were here keep theirs (`kept`)
    /// when their runtime did not change.
    static func states(restored: [ModuleID: JSONValue], kept: [ModuleID: JSONValue],
                       old: FlowDocument?, new: FlowDocument) -> [ModuleID: JSONValue] {
        let oldModules = Set(old?.modules.map(\.id) ?? [])
        var states = restored.filter { !oldModules.contains($0.key) }
        for m in new.modules {
            if let before = old?.module(m.id), before.runtime == m.runtime, let s = kept[m.id] { states[m.id] = s }
        }
        return states
    }
}
