/// Supervision of one runtime instance as a pure state machine: the handler
/// feeds it events with the current time and carries out the actions it returns.
///
///     starting → ready → stopping → stopped
///     any exit while not stopping → backingOff → starting (again), or failed
public struct SupervisionStateMachine: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public enum State: Sendable, Equatable {
        case idle
        case starting(attempt: Int)
        case ready
        case backingOff(attempt: Int)
        case failed(reason: String)
        case stopping
        case stopped
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Spawn the process (again).
        case spawn
        /// Call `retryTimerFired` after this delay.
        case scheduleRetry(after: Duration)
        /// Stop trying; the instance stays failed with this reason.
        case giveUp(reason: String)
        /// Ask the process to stop.
        case terminate
    }

    public struct Policy: Sendable {
        public var maxFailures: Int
        public var window: Duration
        public var initialBackoff: Duration
        public var maxBackoff: Duration

        public init(maxFailures: Int = 5, window: Duration = .seconds(60),
                    initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(5)) {
            self.maxFailures = maxFailures; self.window = window
            self.initialBackoff = initialBackoff; self.maxBackoff = maxBackoff
        }
    }

    public private(set) var state: State = .idle
    public private(set) var restarts = 0
    private var failures: [Instant] = []
    private let policy: Policy

    public init(policy: Policy = Policy()) { self.policy = policy }

    public mutating func start() -> Action {
        switch state {
        case .idle, .stopped, .failed:
            failures.removeAll()
            state = .starting(attempt: 0)
            return .spawn
        default:
            return .none
        }
    }

    /// The runtime said hello and loaded its modules.
    public mutating func ready() {
        if case .starting = state { state = .ready }
    }

    /// The process exited (or broke the protocol and was killed).
    public mutating func exited(reason: String, at now: Instant) -> Action {
        switch state {
        case .stopping:
            state = .stopped
            return .none
        case .starting(let attempt), .backingOff(let attempt):
            return failure(reason: reason, attempt: attempt + 1, at: now)
        case .ready:
            return failure(reason: reason, attempt: 1, at: now)
        case .idle, .stopped, .failed:
            return .none
        }
    }

    public mutating func retryTimerFired() -> Action {
        guard case .backingOff(let attempt) = state else { return .none }
        state = .starting(attempt: attempt)
        restarts += 1
        return .spawn
    }

    public mutating func stop() -> Action {
        switch state {
        case .starting, .ready:
            state = .stopping
            return .terminate
        case .backingOff, .idle, .failed:
            state = .stopped
            return .none
        case .stopping, .stopped:
            return .none
        }
    }

    private mutating func failure(reason: String, attempt: Int, at now: Instant) -> Action {
        failures.append(now)
        failures.removeAll { now - $0 > policy.window }
        if failures.count >= policy.maxFailures {
            let why = "\(failures.count) failures within \(policy.window); last: \(reason)"
            state = .failed(reason: why)
            return .giveUp(reason: why)
        }
        state = .backingOff(attempt: attempt)
        var delay = policy.initialBackoff
        for _ in 1..<max(1, attempt) { delay = min(delay * 2, policy.maxBackoff) }
        return .scheduleRetry(after: delay)
    }
}
