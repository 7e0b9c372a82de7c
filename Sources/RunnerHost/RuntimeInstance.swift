import FlowModel
import Foundation
import Logging
import NIOCore
import NIOPosix
import PipeBridge
import RunnerProtocol

/// Supervises one runtime instance: the state machine, spawn, reap and
/// back-off. Everything that happens to it (its channel's control frames, its
/// process's output and exit, its timers) comes as an event of one stream,
/// tagged with the process generation it is about, and is handled by one loop
/// (`run`), in order; an event of an older generation is ignored. Timers sleep
/// on `Setup.clock`.
///
/// Ownership: each process generation owns a `RuntimeConnection` (its fifo
/// pair, its channel, the handshake), closed in `cleanUp()` when that process
/// has exited (normally, killed, or after a failed start). `stop()` returns
/// only after the process is reaped and its fifos are removed.
actor RuntimeInstance {
    struct Setup: Sendable {
        var flow: FlowID
        var plan: InstancePlan
        var runtime: RuntimeInfo
        /// The interpreter and extra variables of the instance's dependency environment, if it has one.
        var launch: EnvironmentLaunch = .none
        var script: String
        var fifoDirectory: String
        var maxFrameBytes: Int
        var policy: SupervisionStateMachine.Policy
        var startTimeout: Duration = .seconds(20)
        /// What the timers sleep on (start timeout, stop grace, back-off, swap and report waits).
        var clock: any Clock<Duration> = ContinuousClock()
    }

    var setup: Setup
    let link: InstanceLink
    let report: @Sendable (InstanceReport) -> Void
    let logger: Logger
    var machine: SupervisionStateMachine

    var generation = 0
    /// The generation whose process has ended and been accounted for (`processEnded`).
    var endedGeneration = 0
    var process: RuntimeProcess?
    var connection: RuntimeConnection?
    /// The one stream of what happens to this instance, and its one reader (started with the first spawn).
    private let events: AsyncStream<(generation: Int, event: InstanceEvent)>
    let tell: AsyncStream<(generation: Int, event: InstanceEvent)>.Continuation
    private var loop: Task<Void, Never>?

    /// Committed module states (docs/protocol.md, "Commits"), restored into
    /// a restarted process: the states after exactly the messages that are
    /// not delivered again. Taken from the link when a process ends.
    var states: [ModuleID: JSONValue]
    /// States as the runtime last reported them in `stats` (for display and
    /// debugger steps; ahead of `states` while messages are unacknowledged).
    var reported: [ModuleID: JSONValue] = [:]
    /// The host killed the current process because it went silent past its time limit.
    var timedOut = false
    /// Modules whose `init` has not run yet.
    var pendingInit: Set<ModuleID>

    private var startWaiters: [CheckedContinuation<[ModuleID: RuntimeMessage.LoadResult], any Error>] = []
    var exitWaiters: [CheckedContinuation<Void, Never>] = []
    var lastLoad: [ModuleID: RuntimeMessage.LoadResult] = [:]
    /// A hot swap waiting for `swapped`.
    var swapWaiter: CheckedContinuation<[ModuleID: RuntimeMessage.LoadResult]?, Never>?
    /// A `swapped` that arrived before `swap` started waiting for it.
    var earlySwapped: [ModuleID: RuntimeMessage.LoadResult]?
    /// How many `stats` frames with every module's state arrived (answers to `report`).
    var fullReports = 0
    /// Callers of `requestReport` waiting for the runtime's answer.
    var reportWaiters: [CheckedContinuation<Void, Never>] = []
    /// Module errors since `beginCollectingErrors` (a debugger step).
    var collected: [ModuleErrorReport]?

    init(setup: Setup, link: InstanceLink, states: [ModuleID: JSONValue], runInit: Set<ModuleID>,
         logger: Logger, report: @escaping @Sendable (InstanceReport) -> Void) {
        self.setup = setup
        self.link = link
        self.states = states
        self.pendingInit = runInit
        self.report = report
        var logger = logger
        logger[metadataKey: "flow"] = "\(setup.flow)"
        logger[metadataKey: "runtime"] = "\(setup.plan.runtime.rawValue)"
        self.logger = logger
        self.machine = SupervisionStateMachine(policy: setup.policy)
        (events, tell) = AsyncStream.makeStream(of: (generation: Int, event: InstanceEvent).self)
    }

    deinit { tell.finish() }

    var pid: Int32? { process?.pid }
    /// Frozen by the runner's hold (`suspend`): no handler runs; stopped by killing.
    private(set) var suspended = false
    var state: SupervisionStateMachine.State { machine.state }
    var savedStates: [ModuleID: JSONValue] { states }

    /// Starts the process and waits until its modules are loaded; returns each module's load result.
    func start() async throws -> [ModuleID: RuntimeMessage.LoadResult] {
        guard machine.start() == .spawn else { return lastLoad }
        return try await withCheckedThrowingContinuation { continuation in
            startWaiters.append(continuation)
            spawn()
        }
    }

    /// The runner's hold: freezes the process (SIGSTOP) so that no handler
    /// runs, or lets it go on (SIGCONT). While frozen, its silence is not a hang.
    func suspend(_ on: Bool) {
        guard on != suspended else { return }
        suspended = on
        let link = self.link
        link.loop.execute { link.writer.suspend(on) }
        process?.freeze(on)
    }

    /// Stops gracefully: the runtime finishes what it received, reports its
    /// state and exits; killed if it takes longer than `grace`. A frozen one
    /// (`suspend`) is killed at once: what it holds must not run.
    func stop(grace: Duration = .seconds(5)) async {
        let action = machine.stop()
        guard action == .terminate, let process else {
            finishStartWaiters(with: .failure(RunnerError.stopped(flow: setup.flow)))
            return
        }
        report(.state(.stopping, pid: process.pid, restarts: machine.restarts, reason: nil))
        after(grace, .graceOver)
        if suspended {
            process.kill()
        } else if let connection {
            let gen = generation
            Task {
                do { try await connection.send(.stop) } catch { self.terminate(generation: gen) }
            }
        } else {
            process.terminate()
        }
        await withCheckedContinuation { exitWaiters.append($0) }
    }

    /// The `stop` frame could not be written: SIGTERM instead.
    private func terminate(generation gen: Int) {
        guard gen == generation else { return }
        process?.terminate()
    }

    /// Sends SIGKILL to the current process (a stop's grace is over).
    private func killIfStill() {
        guard let process, machine.state == .stopping else { return }
        logger.warning("runtime did not stop in time; killing it", metadata: ["pid": "\(process.pid)"])
        process.kill()
    }

    // MARK: the one loop

    /// Tells the loop `event` after `delay` on the clock (about the current generation).
    /// (Detached: a pending timer holds neither the actor nor its process's resources.)
    func after(_ delay: Duration, _ event: InstanceEvent) {
        let gen = generation, tell = self.tell, clock = setup.clock
        Task.detached {
            try? await clock.sleep(for: delay)
            tell.yield((gen, event))
        }
    }

    private func startLoop() {
        guard loop == nil else { return }
        let events = self.events
        loop = Task { [weak self] in
            for await (gen, event) in events {
                guard let self else { return }
                await self.handle(event, generation: gen)
            }
        }
    }

    // MARK: one process generation

    private func spawn() {
        startLoop()
        generation += 1
        let gen = generation, tell = self.tell
        let events: @Sendable (InstanceEvent) -> Void = { tell.yield((gen, $0)) }
        do {
            let connection = try RuntimeConnection.open(in: setup.fifoDirectory, name: "\(setup.flow)-\(setup.plan.key)",
                                                        link: link, maxFrameBytes: setup.maxFrameBytes, events: events)
            self.connection = connection
            let process = try RuntimeProcess(
                executable: setup.launch.executable ?? setup.runtime.executable,
                arguments: [setup.script] + connection.arguments,
                environment: Self.childEnvironment(maxFrameBytes: setup.maxFrameBytes).merging(setup.launch.variables) { _, env in env },
                onOutput: { stream, line in events(.output(stream, line)) },
                onExit: { exit in events(.exited(exit)) })
            self.process = process
            report(.state(.starting, pid: process.pid, restarts: machine.restarts, reason: nil))
            after(setup.startTimeout, .readyTimeout)
        } catch {
            logger.error("could not start runtime: \(error)")
            events(.exited(.exited(127)))
            spawnFailure = "\(error)"
        }
    }

    var spawnFailure: String?

    private func handle(_ event: InstanceEvent, generation gen: Int) async {
        guard gen == generation else { return }
        if gen == endedGeneration {
            // Its process has exited and been accounted for: only its last output lines, and the
            // back-off's end, still count (a channel error on close must not end it twice).
            switch event {
            case .output, .retry: break
            default: return
            }
        }
        switch event {
        case .control(let message):
            await handleControl(message)
        case .output(let stream, let line):
            report(.log(module: nil, level: stream == .stderr ? .error : .info, text: line))
        case .protocolError(let reason):
            logger.error("runtime broke the protocol: \(reason)")
            failCurrent(reason: "protocol error: \(reason)")
        case .readyTimeout:
            guard case .starting = machine.state else { return }
            failCurrent(reason: "the runtime did not say hello and load its modules within \(setup.startTimeout)")
        case .exited(let exit):
            await processExited(exit)
        case .silent(let silent):
            guard machine.state == .ready || machine.state == .stopping else { return }
            timedOut = true
            failCurrent(reason: "a handler ran past its time limit (timeoutMs \(timeLimitMs)): nothing came from the runtime for \(silent.nanoseconds / 1_000_000) ms while messages were in flight")
        case .graceOver:
            killIfStill()
        case .retry:
            if machine.retryTimerFired() == .spawn { spawn() }
        }
    }

    /// The time limit of this instance in milliseconds (0: none): a handler of
    /// any of its modules may be the one running, so the longest limit of its
    /// modules applies, and none when one of them has none.
    var timeLimitMs: Int {
        let limits = setup.plan.modules.map(\.effectiveTimeoutMs)
        return limits.contains(0) ? 0 : limits.max() ?? 0
    }

    var failReason: String?

    /// Kills the current process for a fault; the exit then drives the restart.
    func failCurrent(reason: String) {
        failReason = failReason ?? reason
        report(.log(module: nil, level: .error, text: reason))
        process?.kill()
        if process == nil { tell.yield((generation, .exited(.exited(127)))) }
    }

    func finishStartWaiters(with result: Result<[ModuleID: RuntimeMessage.LoadResult], any Error>) {
        let waiters = startWaiters
        startWaiters.removeAll()
        for w in waiters { w.resume(with: result) }
    }

    static func childEnvironment(maxFrameBytes: Int) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["POLYFLOW_MAX_FRAME_BYTES"] = "\(maxFrameBytes)"
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env
    }
}
