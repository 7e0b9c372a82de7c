/// A runner's view of its link to the dispatcher, as a pure state machine
/// (docs/runner-protocol.md, "Heartbeats", the runner's side): connect,
/// hello, welcome; ping; hold the modules when the dispatcher falls silent
/// (it may be placing them elsewhere: a module never runs on two runners at
/// once); reconnect with back-off; stop the runtimes after a grace period
/// without a welcome, so nothing runs unseen.
///
///     idle ─start─► connecting ─connected─► awaitingWelcome ─welcomed─► connected
///        ▲ backingOff ◄── failed, closed, silent ≥ lostAfter ──────────────┘
///     refused (final: a wrong token, name or version is not retried)
///
/// Modules: `running` while connected and heard from; `held` (no handler
/// runs, messages queue) from `holdAfter` of silence or a lost connection;
/// `stopped` after `grace` held, or when `welcome.drop` / a refusal says so.
public struct DispatcherLinkStateMachine: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public struct Policy: Sendable, Equatable {
        public var interval: Duration
        public var holdAfter: Duration
        public var lostAfter: Duration
        public var grace: Duration
        public var initialBackoff: Duration
        public var maxBackoff: Duration
        /// How long one attempt may take from its start to the welcome: a link
        /// that swallows everything (a partition) never fails by itself.
        public var welcomeTimeout: Duration

        public init(interval: Duration = RunnerProtocol.defaultHeartbeatInterval,
                    holdAfter: Duration = RunnerProtocol.defaultSuspectAfter,
                    lostAfter: Duration = RunnerProtocol.defaultLostAfter,
                    grace: Duration = .seconds(30),
                    initialBackoff: Duration = .milliseconds(250), maxBackoff: Duration = .seconds(5),
                    welcomeTimeout: Duration = .seconds(10)) {
            self.interval = interval; self.holdAfter = holdAfter; self.lostAfter = lostAfter
            self.grace = grace; self.initialBackoff = initialBackoff; self.maxBackoff = maxBackoff
            self.welcomeTimeout = welcomeTimeout
        }

        /// The defaults scaled to another interval (`--heartbeat`): hold after 2, lost after 3 intervals.
        public static func every(_ interval: Duration) -> Policy {
            Policy(interval: interval, holdAfter: interval * 2, lostAfter: interval * 3)
        }
    }

    public enum Link: Sendable, Equatable {
        case idle
        case connecting
        case awaitingWelcome
        case connected(session: Int)
        case backingOff(attempt: Int)
        case refused(RunnerRefusal)
    }

    public enum Modules: Sendable, Equatable {
        case running
        case held(since: Instant)
        case stopped
    }

    public enum Action: Sendable, Equatable {
        /// Open the WebSocket.
        case connect
        case sendHello
        case sendPing(Int)
        /// Call `retryTimerFired` after this delay.
        case scheduleReconnect(after: Duration)
        case closeConnection(reason: String)
        /// Run no handler; keep queued messages (within their bounds).
        case holdModules
        /// Run handlers again.
        case releaseModules
        /// Stop these modules and drop everything held for them (`welcome.drop`, `fence`).
        case drop([ModuleLease])
        /// Stop every runtime and drop every module: the dispatcher has placed them elsewhere.
        case stopRuntimes(reason: String)
        /// Print the reason on one line and exit non-zero.
        case exit(reason: String)
    }

    public private(set) var link: Link = .idle
    public private(set) var modules: Modules = .running
    private var lastHeard: Instant
    private var nextPing: Instant
    private var pingNumber = 0
    private var attempt = 0
    /// When the current attempt is given up if no welcome came.
    private var attemptDeadline: Instant
    /// The dispatcher's welcome may set another interval.
    public private(set) var policy: Policy

    public init(now: Instant, policy: Policy = Policy()) {
        self.policy = policy
        lastHeard = now
        nextPing = now
        attemptDeadline = now + policy.welcomeTimeout
    }

    public mutating func start() -> [Action] {
        guard link == .idle else { return [] }
        link = .connecting
        return [.connect]
    }

    /// The WebSocket is open.
    public mutating func connected(at now: Instant) -> [Action] {
        guard link == .connecting else { return [] }
        link = .awaitingWelcome
        return [.sendHello]
    }

    public mutating func welcomed(_ welcome: RunnerWelcome, at now: Instant) -> [Action] {
        guard link == .awaitingWelcome else { return [] }
        link = .connected(session: welcome.session)
        attempt = 0
        if welcome.heartbeatMs > 0 {
            let interval = Duration.milliseconds(welcome.heartbeatMs)
            policy.interval = interval
            policy.holdAfter = interval * 2
            policy.lostAfter = max(.milliseconds(welcome.lostAfterMs), interval * 3)
        }
        lastHeard = now
        nextPing = now + policy.interval
        var actions: [Action] = []
        if !welcome.drop.isEmpty { actions.append(.drop(welcome.drop)) }
        if case .held = modules { actions.append(.releaseModules) }
        modules = .running
        return actions
    }

    public mutating func refused(_ refusal: RunnerRefusal) -> [Action] {
        link = .refused(refusal)
        var actions: [Action] = []
        if modules != .stopped { actions.append(.stopRuntimes(reason: refusal.message)) }
        modules = .stopped
        actions.append(.exit(reason: refusal.message))
        return actions
    }

    /// Any message or data batch arrived from the dispatcher.
    public mutating func heard(at now: Instant) -> [Action] {
        guard case .connected = link else { return [] }
        lastHeard = now
        if case .held = modules {
            modules = .running
            return [.releaseModules]
        }
        return []
    }

    public mutating func tick(at now: Instant) -> [Action] {
        var actions: [Action] = []
        if link == .connecting || link == .awaitingWelcome, now >= attemptDeadline {
            actions.append(.closeConnection(reason: "no welcome within \(policy.welcomeTimeout)"))
            actions += lose(at: now)
        }
        if case .connected = link {
            let silence = now - lastHeard
            if silence >= policy.lostAfter {
                actions.append(.closeConnection(reason: "the dispatcher has been silent for \(silence)"))
                actions += lose(at: now)
            } else {
                if silence >= policy.holdAfter, modules == .running {
                    modules = .held(since: now)
                    actions.append(.holdModules)
                }
                if now >= nextPing {
                    pingNumber += 1
                    actions.append(.sendPing(pingNumber))
                    while nextPing <= now { nextPing = nextPing + policy.interval }
                }
            }
        }
        if case .held(let since) = modules, now - since >= policy.grace {
            modules = .stopped
            actions.append(.stopRuntimes(reason: "no welcome from the dispatcher for \(policy.grace) after losing it"))
        }
        return actions
    }

    /// The connection closed, or could not be opened.
    public mutating func disconnected(at now: Instant) -> [Action] {
        switch link {
        case .connecting, .awaitingWelcome, .connected: return lose(at: now)
        case .idle, .backingOff, .refused: return []
        }
    }

    public mutating func retryTimerFired() -> [Action] {
        guard case .backingOff = link else { return [] }
        link = .connecting
        return [.connect]
    }

    private mutating func lose(at now: Instant) -> [Action] {
        var actions: [Action] = []
        if modules == .running {
            modules = .held(since: now)
            actions.append(.holdModules)
        }
        attempt += 1
        link = .backingOff(attempt: attempt)
        var delay = policy.initialBackoff
        for _ in 1..<attempt where delay < policy.maxBackoff { delay = delay * 2 }
        delay = min(delay, policy.maxBackoff)
        attemptDeadline = now + delay + policy.welcomeTimeout
        actions.append(.scheduleReconnect(after: delay))
        return actions
    }
}
