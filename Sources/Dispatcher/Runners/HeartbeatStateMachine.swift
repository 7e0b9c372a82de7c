import RunnerProtocol

/// The dispatcher's view of one runner connection, as a pure state machine:
/// the handler feeds it what happens with the current time (from its clock)
/// and carries out the actions it returns. One machine per connection; a
/// runner that comes back is a new connection with a new machine.
///
///     joining ──welcomed──► live ──silent ≥ suspectAfter──► suspect
///        │                   ▲ ◄────────── heard ───────────┘ │
///        │                   │                                │ silent ≥ lostAfter,
///        └─ no hello in time, closed ──► lost ◄───────────────┘ or closed
///
/// Anything heard from the runner counts (control messages and data
/// batches), not only pongs. `tick` is called at least once per interval;
/// it pings and measures the silence.
public struct HeartbeatStateMachine: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public struct Policy: Sendable, Equatable {
        public var interval: Duration
        public var suspectAfter: Duration
        public var lostAfter: Duration
        public var helloTimeout: Duration

        public init(interval: Duration = RunnerProtocol.defaultHeartbeatInterval,
                    suspectAfter: Duration = RunnerProtocol.defaultSuspectAfter,
                    lostAfter: Duration = RunnerProtocol.defaultLostAfter,
                    helloTimeout: Duration = RunnerProtocol.helloTimeout) {
            self.interval = interval; self.suspectAfter = suspectAfter; self.lostAfter = lostAfter; self.helloTimeout = helloTimeout
        }

        /// The defaults scaled to another interval (`--heartbeat`): suspect after 2, lost after 3 intervals.
        public static func every(_ interval: Duration) -> Policy {
            Policy(interval: interval, suspectAfter: interval * 2, lostAfter: interval * 3)
        }
    }

    public enum State: Sendable, Equatable {
        case joining(since: Instant)
        case live
        case suspect
        case lost(reason: String)
    }

    public enum Action: Sendable, Equatable {
        /// Send `{"t":"ping","n":N}`.
        case sendPing(Int)
        /// Show the runner as suspect: no new modules go to it.
        case markSuspect
        /// Heard again in time: live, as before.
        case markLive
        /// Show the runner as lost with the reason (`listRunners`, an event).
        case markLost(reason: String)
        /// Close the connection (anything still arriving on it is ignored).
        case closeConnection(reason: String)
        /// Place the runner's modules again on the others, with their last
        /// reported state; its unacknowledged frames go again to the new places.
        case replaceModules
    }

    public private(set) var state: State
    public private(set) var lastHeard: Instant
    private var nextPing: Instant
    private var pingNumber = 0
    public let policy: Policy

    public init(connectedAt now: Instant, policy: Policy = Policy()) {
        self.policy = policy
        state = .joining(since: now)
        lastHeard = now
        nextPing = now
    }

    /// The state as `listRunners` shows it.
    public var runnerState: RunnerState {
        switch state {
        case .joining: .joining
        case .live: .live
        case .suspect: .suspect
        case .lost: .lost
        }
    }

    /// The runner's hello was accepted and `welcome` sent.
    public mutating func welcomed(at now: Instant) -> [Action] {
        guard case .joining = state else { return [] }
        state = .live
        lastHeard = now
        nextPing = now + policy.interval
        return []
    }

    /// Any message or data batch arrived from the runner.
    public mutating func heard(at now: Instant) -> [Action] {
        switch state {
        case .lost: return []
        case .joining: lastHeard = now; return []
        case .live: lastHeard = now; return []
        case .suspect:
            lastHeard = now
            state = .live
            return [.markLive]
        }
    }

    /// Time passed: ping when due, and judge the silence.
    public mutating func tick(at now: Instant) -> [Action] {
        switch state {
        case .lost:
            return []
        case .joining(let since):
            guard now - since >= policy.helloTimeout else { return [] }
            let reason = "no hello within \(seconds(policy.helloTimeout))"
            state = .lost(reason: reason)
            return [.closeConnection(reason: reason)]
        case .live, .suspect:
            let silence = now - lastHeard
            if silence >= policy.lostAfter {
                let reason = "silent for \(seconds(silence)) (lost after \(seconds(policy.lostAfter)) without a heartbeat)"
                state = .lost(reason: reason)
                return [.markLost(reason: reason), .closeConnection(reason: reason), .replaceModules]
            }
            var actions: [Action] = []
            if state == .live && silence >= policy.suspectAfter {
                state = .suspect
                actions.append(.markSuspect)
            }
            if now >= nextPing {
                pingNumber += 1
                actions.append(.sendPing(pingNumber))
                // Skip the pings a late tick missed rather than send them in a burst.
                while nextPing <= now { nextPing = nextPing + policy.interval }
            }
            return actions
        }
    }

    /// The connection closed (the runner stopped, the network said so, or a
    /// protocol error): lost at once, without waiting for the silence.
    public mutating func disconnected(reason: String, at now: Instant) -> [Action] {
        switch state {
        case .lost: return []
        case .joining:
            state = .lost(reason: reason)
            return []
        case .live, .suspect:
            state = .lost(reason: reason)
            return [.markLost(reason: reason), .replaceModules]
        }
    }

    /// The same runner process connected again before this connection was
    /// found lost: this one ends, its modules stay (the new connection keeps them).
    public mutating func superseded(at now: Instant) -> [Action] {
        if case .lost = state { return [] }
        let reason = "replaced by a new connection of the same runner"
        state = .lost(reason: reason)
        return [.closeConnection(reason: reason)]
    }

    private func seconds(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return "\(ms / 1000).\((ms % 1000) / 100) s"
    }
}
