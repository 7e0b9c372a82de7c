import FlowModel
import Foundation
import RunnerProtocol

/// What each joined runner may speak for (docs/security.md, "A runner is
/// trusted only with what is placed on it"): status parts, `states` and
/// events only for the modules placed on it, data frames only for the inputs
/// that those modules connect to.
///
/// A pure value, made anew by the registry whenever placement or a flow
/// changes (`next`), and read by the directory on every data batch and by
/// the event sink on every event. A frame names only its target, so it is
/// accepted when a module placed on the sender connects to that target in
/// the flow's current or previous revision, or did so within `grace`: a
/// frame sent just before a hot swap or a move, or sent again after one, is
/// not refused.
public struct RunnerTrust: Sendable {
    public struct Target: Hashable, Sendable {
        public var flow: FlowID
        public var module: ModuleID
        public var port: PortName
        public init(flow: FlowID, module: ModuleID, port: PortName) { self.flow = flow; self.module = module; self.port = port }
    }

    /// One flow as the registry has it: the revision now and the one before (a hot swap's old side).
    public struct Revisions: Sendable {
        public var current: FlowDocument
        public var previous: FlowDocument?
        public init(current: FlowDocument, previous: FlowDocument?) { self.current = current; self.previous = previous }
    }

    /// How long a target stays open to a runner after its module moved away or the connection went.
    public static let grace: Duration = .seconds(30)

    /// Modules placed on each runner, with their generation.
    private(set) var placed: [RunnerID: [FlowModuleID: Int]] = [:]
    /// Inputs each runner may send to now.
    private var targets: [RunnerID: Set<Target>] = [:]
    /// Inputs each runner could send to until lately, and until when they stay open.
    private var retired: [RunnerID: [Target: ContinuousClock.Instant]] = [:]

    public init() {}

    /// The trust that follows `placement` of `flows`, keeping what this one allowed for `grace`.
    public func next(flows: [FlowID: Revisions], placement: [FlowModuleID: ModulePlacement],
                     now: ContinuousClock.Instant = .now) -> RunnerTrust {
        var out = RunnerTrust()
        for (key, where_) in placement {
            guard case .placed(let runner, let gen) = where_, let revisions = flows[key.flow] else { continue }
            out.placed[runner, default: [:]][key] = gen
            var open = out.targets[runner, default: []]
            for doc in [revisions.current, revisions.previous].compactMap({ $0 }) {
                for c in doc.connections where c.from.module == key.module {
                    open.insert(Target(flow: key.flow, module: c.to.module, port: c.to.port))
                }
            }
            out.targets[runner] = open
        }
        for (runner, old) in retired {
            for (target, until) in old where until > now && !(out.targets[runner]?.contains(target) ?? false) {
                out.retired[runner, default: [:]][target] = until
            }
        }
        for (runner, was) in targets {
            for target in was where !(out.targets[runner]?.contains(target) ?? false) {
                out.retired[runner, default: [:]][target] = now + Self.grace
            }
        }
        return out
    }

    /// Whether `module` is placed on `runner`.
    public func hosts(_ runner: RunnerID, _ module: FlowModuleID) -> Bool {
        placed[runner]?[module] != nil
    }

    /// Whether any module of `flow` is placed on `runner`.
    public func hostsPart(of flow: FlowID, on runner: RunnerID) -> Bool {
        placed[runner]?.keys.contains { $0.flow == flow } ?? false
    }

    /// Whether `runner` may send a data frame to `target`.
    public func maySend(_ runner: RunnerID, to target: Target, now: ContinuousClock.Instant = .now) -> Bool {
        if targets[runner]?.contains(target) ?? false { return true }
        if let until = retired[runner]?[target] { return until > now }
        return false
    }

    /// Whether an event from `runner` is about what is placed on it: a module's
    /// events for a module placed there, a flow's for a flow with a part there.
    public func admits(_ event: RunnerEvent, from runner: RunnerID) -> Bool {
        switch event {
        case .output(let flow, let module, _, _), .moduleError(let flow, let module, _):
            return hosts(runner, FlowModuleID(flow: flow, module: module))
        case .log(let flow, let module, _, _):
            if let module { return hosts(runner, FlowModuleID(flow: flow, module: module)) }
            return hostsPart(of: flow, on: runner)
        case .paused(let flow, let module, _, _):
            if let module, !hosts(runner, FlowModuleID(flow: flow, module: module)) { return false }
            return hostsPart(of: flow, on: runner)
        case .flowState(let flow, _, _), .instanceState(let flow, _, _, _, _, _), .stepped(let flow, _),
             .resumed(let flow), .swapped(let flow, _, _, _, _, _):
            return hostsPart(of: flow, on: runner)
        case .dependencies(let progress):
            // An environment built for a flow's modules; one built through the API concerns no flow.
            return progress.flow.map { hostsPart(of: $0, on: runner) } ?? true
        }
    }
}
