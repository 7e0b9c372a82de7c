import FlowModel

/// A module as placement sees it.
public struct PlacementModule: Hashable, Sendable {
    public var flow: FlowID
    public var module: ModuleID
    public var runtime: RuntimeKind
    public var tags: Set<String>
    public var requireTags: Set<String>

    public init(flow: FlowID, module: ModuleID, runtime: RuntimeKind, tags: Set<String> = [], requireTags: Set<String> = []) {
        self.flow = flow; self.module = module; self.runtime = runtime; self.tags = tags; self.requireTags = requireTags
    }

    public var id: FlowModuleID { FlowModuleID(flow: flow, module: module) }

    /// Every module of a flow.
    public static func modules(of flow: FlowDocument) -> [PlacementModule] {
        flow.modules.map { PlacementModule(flow: flow.id, module: $0.id, runtime: $0.runtime, tags: Set($0.tags), requireTags: Set($0.requireTags)) }
    }
}

/// A runner as placement sees it.
public struct PlacementRunner: Hashable, Sendable {
    public var id: RunnerID
    public var runtimes: Set<RuntimeKind>
    public var tags: Set<String>
    public var state: RunnerState
    /// What the runner carries besides the modules being placed (see `Placement.place`).
    public var load: Int

    public init(id: RunnerID, runtimes: Set<RuntimeKind>, tags: Set<String> = [], state: RunnerState = .live, load: Int = 0) {
        self.id = id; self.runtimes = runtimes; self.tags = tags; self.state = state; self.load = load
    }
}

/// Where one module runs, or why it runs nowhere.
public enum ModulePlacement: Hashable, Sendable {
    case placed(RunnerID, gen: Int)
    /// `gen` is the generation it last ran at (0 if never placed): its next placement gets one more.
    case unplaced(UnplacedReason, gen: Int)

    public var gen: Int {
        switch self { case .placed(_, let g), .unplaced(_, let g): g }
    }

    public var runner: RunnerID? {
        if case .placed(let r, _) = self { return r }
        return nil
    }
}

/// Why a module is `unplaced`: shown with its flow's `degraded` state.
public enum UnplacedReason: Hashable, Sendable, CustomStringConvertible {
    case noRunnerWithRuntime(RuntimeKind)
    case noRunnerWithRequiredTags(RuntimeKind, [String])
    /// Runners could take it but none is live (they are joining or suspect).
    case noLiveRunner(RuntimeKind, [RunnerID])

    public var code: String {
        switch self {
        case .noRunnerWithRuntime: "no-runtime"
        case .noRunnerWithRequiredTags: "no-required-tags"
        case .noLiveRunner: "no-live-runner"
        }
    }

    public var description: String {
        switch self {
        case .noRunnerWithRuntime(let r):
            r == .browser ? "no runner has the browser runtime: open a browser runner page" : "no runner has the \(r.rawValue) runtime"
        case .noRunnerWithRequiredTags(let r, let tags):
            "no \(r.rawValue) runner has all of the required tags \(tags.map { "\"\($0)\"" }.joined(separator: ", ")); start one with --tags \(tags.joined(separator: ","))"
        case .noLiveRunner(let r, let runners):
            "the \(r.rawValue) runners that could take it (\(runners.map(\.rawValue).joined(separator: ", "))) are not live"
        }
    }
}
