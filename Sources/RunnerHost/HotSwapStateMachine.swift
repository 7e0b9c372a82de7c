import FlowModel
import RunnerProtocol

/// The steps of a hot swap of one running flow, as a pure state machine;
/// `FlowRun.swap` carries out the actions it returns.
///
///     idle ─begin─► checking ─ok─► draining ─► collecting ─► swapping ─► releasing ─► done
///                      └─fails─► refused          (collecting only when a module moves runtime or leaves)
///
/// - checking: the new code is loaded in a throwaway process, beside the old;
///   a failure refuses the update and nothing has changed.
/// - draining: the host holds every new message except those for removed
///   modules, which finish what was queued for them; then waits until every
///   runtime of the flow has acknowledged everything (no handler running).
/// - collecting: the states of modules that move to another runtime, or leave
///   this runner (removed here; maybe placed on another runner), are read.
/// - swapping: each instance gets its new modules and tables (`swap` frame);
///   instances of a new runtime kind start; instances left empty stop.
/// - releasing: held messages go to their (possibly renumbered) targets.
public struct HotSwapStateMachine: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        case idle, checking, draining, collecting, swapping, releasing, done
        case refused(String)
    }

    public enum Action: Sendable, Equatable {
        case checkNewCode
        case holdAndDrain
        case collectStates
        case swapInstances
        case release
        /// The update is refused; nothing changed.
        case refuse(String)
        case finish
    }

    public private(set) var phase: Phase = .idle
    private let needsStates: Bool

    public init(diff: FlowDiff) { needsStates = !diff.moved.isEmpty || !diff.removed.isEmpty }

    public mutating func begin() -> Action {
        guard phase == .idle else { return .finish }
        phase = .checking
        return .checkNewCode
    }

    public mutating func checked(failure: String?) -> Action {
        guard phase == .checking else { return .finish }
        if let failure {
            phase = .refused(failure)
            return .refuse(failure)
        }
        phase = .draining
        return .holdAndDrain
    }

    public mutating func drained() -> Action {
        guard phase == .draining else { return .finish }
        if needsStates {
            phase = .collecting
            return .collectStates
        }
        phase = .swapping
        return .swapInstances
    }

    public mutating func statesCollected() -> Action {
        guard phase == .collecting else { return .finish }
        phase = .swapping
        return .swapInstances
    }

    /// The instances were swapped (a module that failed to load there is
    /// reported as a load error and does not stop the swap).
    public mutating func instancesSwapped() -> Action {
        guard phase == .swapping else { return .finish }
        phase = .releasing
        return .release
    }

    public mutating func released() -> Action {
        guard phase == .releasing else { return .finish }
        phase = .done
        return .finish
    }
}
