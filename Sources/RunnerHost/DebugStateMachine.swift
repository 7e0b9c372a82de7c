/// The debugger of one flow as a pure state machine. The event-loop side
/// (`FlowDebugger`) feeds it what happens and carries out what it returns.
///
///     direct ──breakpoint set──► watching ──breakpoint hit──► paused ⇄ stepping
///        ▲                          ▲  │                        │
///        └──resume, no breakpoints──┴──┴──────resume────────────┘
///
/// - `direct`: normal routing; the debugger sees nothing (full speed).
/// - `watching`: every message goes through the host, which delivers it
///   unless it stops at a breakpoint.
/// - `paused`: every message is held at the host; nothing is delivered.
/// - `stepping`: the oldest held message of each module was delivered;
///   what they emit is held; done when every one is acknowledged.
public struct DebugStateMachine: Sendable, Equatable {
    public enum Mode: String, Sendable, Equatable {
        case direct, watching, paused, stepping
    }

    /// What to do with a message that reached the host for a module.
    public enum Arrival: Sendable, Equatable {
        case deliver
        case hold
        /// Hold it and pause the flow: it hit a breakpoint.
        case holdAndPause
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Tell the runtimes to send every message through the host.
        case routeViaHost
        /// Deliver held messages again (those at breakpoints may pause anew);
        /// when `routeDirect`, tell the runtimes to route directly afterwards.
        case release(routeDirect: Bool)
    }

    public enum StepDecision: Sendable, Equatable {
        /// Nothing is queued: the step is empty.
        case nothingToStep
        /// Deliver the oldest held message of each module; the first action
        /// (`routeViaHost`) is needed when the flow was not being watched.
        case step(first: Action)
        /// A step is already under way.
        case busy
    }

    public private(set) var mode: Mode = .direct
    public private(set) var breakpoints = 0

    public init() {}

    public var isHoldingMessages: Bool { mode == .paused || mode == .stepping }

    /// The number of breakpoints of the flow changed.
    public mutating func breakpointsChanged(to count: Int) -> Action {
        breakpoints = count
        switch mode {
        case .direct where count > 0:
            mode = .watching
            return .routeViaHost
        case .watching where count == 0:
            mode = .direct
            return .release(routeDirect: true)
        default:
            return .none
        }
    }

    /// A message reached the host for a module; `stopsHere` says whether it
    /// matches a breakpoint there.
    public mutating func arrived(stopsHere: Bool) -> Arrival {
        switch mode {
        case .direct: return .deliver
        case .watching:
            if stopsHere {
                mode = .paused
                return .holdAndPause
            }
            return .deliver
        case .paused, .stepping: return .hold
        }
    }

    /// An explicit pause (before a single step of a running flow).
    public mutating func pause() -> Action {
        switch mode {
        case .direct:
            mode = .paused
            return .routeViaHost
        case .watching:
            mode = .paused
            return .none
        case .paused, .stepping:
            return .none
        }
    }

    /// `singleStepFlow`: pauses a running flow first, then steps.
    public mutating func step(hasQueued: Bool) -> StepDecision {
        let first = pause()
        guard mode == .paused else { return .busy }
        guard hasQueued else { return .nothingToStep }
        mode = .stepping
        return .step(first: first)
    }

    /// Every message of the step was acknowledged.
    public mutating func stepFinished() {
        if mode == .stepping { mode = .paused }
    }

    /// `resumeFlow`: run on until the next breakpoint.
    public mutating func resume() -> Action {
        switch mode {
        case .paused, .stepping:
            mode = breakpoints > 0 ? .watching : .direct
            return .release(routeDirect: breakpoints == 0)
        case .direct, .watching:
            return .none
        }
    }
}
