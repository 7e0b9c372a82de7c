import FlowModel
import Foundation
import Logging
import NIOCore
import NIOPosix
import PipeBridge
import RunnerProtocol

/// Supervises one runtime instance: fifos, process, handshake, restarts.
///
/// Ownership: each process generation owns a `FifoPair` and a channel; both
/// are released in `cleanUp(generation:)`, which runs when that process has
/// exited (normally, killed, or after a failed start). `stop()` returns only
/// after the process is reaped and its fifos are removed.
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
    }

    var setup: Setup
    let link: InstanceLink
    private let report: @Sendable (InstanceReport) -> Void
    private let logger: Logger
    var machine: SupervisionStateMachine

    private var generation = 0
    /// The generation whose process has ended and been accounted for (`processEnded`).
    private var endedGeneration = 0
    private var process: RuntimeProcess?
    private var fifos: FifoPair?
    private var channel: (any Channel)?
    private var eventsContinuation: AsyncStream<InstanceEvent>.Continuation?
    private var monitor: Task<Void, Never>?
    private var helloSeen = false

    /// Committed module states (docs/protocol.md, "Commits"), restored into
    /// a restarted process: the states after exactly the messages that are
    /// not delivered again. Taken from the link when a process ends.
    var states: [ModuleID: JSONValue]
    /// States as the runtime last reported them in `stats` (for display and
    /// debugger steps; ahead of `states` while messages are unacknowledged).
    var reported: [ModuleID: JSONValue] = [:]
    /// The host killed the current process because it went silent past its time limit.
    private var timedOut = false
    /// Modules whose `init` has not run yet.
    var pendingInit: Set<ModuleID>

    private var startWaiters: [CheckedContinuation<[ModuleID: RuntimeMessage.LoadResult], any Error>] = []
    private var exitWaiters: [CheckedContinuation<Void, Never>] = []
    private var lastLoad: [ModuleID: RuntimeMessage.LoadResult] = [:]
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
    }

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
        link.loop.execute { link.suspended = on }
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
        if suspended {
            process.kill()
        } else if let channel {
            var buffer = channel.allocator.buffer(capacity: 16)
            try? FrameEncoder.write(.stop, into: &buffer)
            channel.writeAndFlush(buffer, promise: nil)
        } else {
            process.terminate()
        }
        let gen = generation
        let killer = Task {
            try? await Task.sleep(for: grace)
            self.killIfStill(generation: gen)
        }
        await withCheckedContinuation { exitWaiters.append($0) }
        killer.cancel()
    }

    /// Sends SIGKILL to the current process (used by `stop` after its grace period).
    private func killIfStill(generation gen: Int) {
        guard gen == generation, let process else { return }
        logger.warning("runtime did not stop in time; killing it", metadata: ["pid": "\(process.pid)"])
        process.kill()
    }

    // MARK: one process generation

    private func spawn() {
        generation += 1
        let gen = generation
        helloSeen = false
        let (stream, continuation) = AsyncStream.makeStream(of: InstanceEvent.self)
        eventsContinuation = continuation
        monitor = Task { [weak self] in
            for await event in stream {
                guard let self else { return }
                await self.handle(event, generation: gen)
            }
        }
        do {
            let fifos = try FifoPair.create(in: setup.fifoDirectory, name: "\(setup.flow)-\(setup.plan.key)")
            self.fifos = fifos
            let fds = try fifos.open()
            let link = self.link
            let maxFrame = setup.maxFrameBytes
            let channelFuture = NIOPipeBootstrap(group: link.loop)
                .channelOption(ChannelOptions.maxMessagesPerRead, value: 4)
                .channelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 65536, maximum: 1 << 20))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(InstanceChannelHandler(link: link, maxFrameBytes: maxFrame, events: continuation))
                    }
                }
                .takingOwnershipOfDescriptors(input: fds.fromRuntime, output: fds.toRuntime)
            let process = try RuntimeProcess(
                executable: setup.launch.executable ?? setup.runtime.executable,
                arguments: [setup.script, "--in", fifos.toRuntimePath, "--out", fifos.fromRuntimePath],
                environment: Self.childEnvironment(maxFrameBytes: maxFrame).merging(setup.launch.variables) { _, env in env },
                onOutput: { stream, line in continuation.yield(.output(stream, line)) },
                onExit: { exit in continuation.yield(.exited(exit)) })
            self.process = process
            report(.state(.starting, pid: process.pid, restarts: machine.restarts, reason: nil))
            channelFuture.whenComplete { result in
                switch result {
                case .success(let channel): Task { await self.channelOpened(channel, generation: gen) }
                case .failure(let error): continuation.yield(.protocolError("could not open the fifos: \(error)"))
                }
            }
            let timeout = setup.startTimeout
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.checkStarted(generation: gen)
            }
        } catch {
            logger.error("could not start runtime: \(error)")
            continuation.yield(.exited(.exited(127)))
            spawnFailure = "\(error)"
        }
    }

    private var spawnFailure: String?

    private func channelOpened(_ channel: any Channel, generation gen: Int) {
        guard gen == generation else { channel.close(promise: nil); return }
        self.channel = channel
    }

    private func checkStarted(generation gen: Int) {
        guard gen == generation, case .starting = machine.state else { return }
        eventsContinuation?.yield(.readyTimeout)
    }

    private func handle(_ event: InstanceEvent, generation gen: Int) async {
        guard gen == generation else { return }
        switch event {
        case .control(let message):
            await handleControl(message)
        case .output(let stream, let line):
            report(.log(module: nil, level: stream == .stderr ? .error : .info, text: line))
        case .protocolError(let reason):
            logger.error("runtime broke the protocol: \(reason)")
            failCurrent(reason: "protocol error: \(reason)")
        case .readyTimeout:
            failCurrent(reason: "the runtime did not say hello and load its modules within \(setup.startTimeout)")
        case .exited(let exit):
            await processExited(exit)
        case .silent(let silent):
            guard machine.state == .ready || machine.state == .stopping else { return }
            timedOut = true
            failCurrent(reason: "a handler ran past its time limit (timeoutMs \(timeLimitMs)): nothing came from the runtime for \(silent.nanoseconds / 1_000_000) ms while messages were in flight")
        }
    }

    /// The time limit of this instance in milliseconds (0: none): a handler of
    /// any of its modules may be the one running, so the longest limit of its
    /// modules applies, and none when one of them has none.
    var timeLimitMs: Int {
        let limits = setup.plan.modules.map(\.effectiveTimeoutMs)
        return limits.contains(0) ? 0 : limits.max() ?? 0
    }

    private var failReason: String?

    /// Kills the current process for a fault; the exit then drives the restart.
    func failCurrent(reason: String) {
        failReason = failReason ?? reason
        report(.log(module: nil, level: .error, text: reason))
        process?.kill()
        if process == nil { eventsContinuation?.yield(.exited(.exited(127))) }
    }

    private func handleControl(_ message: RuntimeMessage) async {
        switch message {
        case .hello(let hello):
            guard hello.protocol == PipeProtocol.version else {
                failCurrent(reason: "runtime \(hello.runtime) speaks protocol \(hello.protocol), host speaks \(PipeProtocol.version): update runtimes/ with the host")
                return
            }
            helloSeen = true
            await sendConfigure()
        case .configured(let results):
            lastLoad = results
            // `init` has run; it counts as done once the module's state is known
            // (a process that dies before reporting it runs `init` again).
            pendingInit.subtract(results.filter { $0.value.ok && states[$0.key] != nil }.map(\.key))
            machine.ready()
            if let channel { await attach(channel) }
            report(.state(.ready, pid: process?.pid, restarts: machine.restarts, reason: nil))
            finishStartWaiters(with: .success(results))
        case .log(let module, let level, let text):
            report(.log(module: module, level: level, text: text))
        case .error(let error):
            collected?.append(error)
            report(.moduleError(error, origin: .module))
        case .stats(let stats):
            guard endedGeneration != generation else { return }
            // Provisional: for display and debugger steps, never for a restart (see `states`).
            for (module, s) in stats { if let state = s.state { reported[module] = state } }
            report(.stats(stats))
            // The answer to `report` carries every module's state.
            if setup.plan.modules.allSatisfy({ stats[$0.id]?.state != nil }) { fullReports += 1 }
            if !reportWaiters.isEmpty, setup.plan.modules.allSatisfy({ stats[$0.id]?.state != nil }) {
                let waiters = reportWaiters
                reportWaiters.removeAll()
                for w in waiters { w.resume() }
            }
        case .swapped(let results):
            lastLoad.merge(results) { _, new in new }
            if let waiter = swapWaiter {
                waiter.resume(returning: results)
                swapWaiter = nil
            } else {
                earlySwapped = results
            }
        case .commit:
            break  // kept by the link, on the event loop, with the acks
        case .bye:
            break
        case .fatal(let message):
            failCurrent(reason: "runtime reported a fatal error: \(message)")
        case .unknown(let type):
            logger.debug("ignoring control frame \(type)")
        }
    }

    private func sendConfigure() async {
        // The channel may still be opening when hello arrives on it; wait for it.
        while channel == nil, process != nil { try? await Task.sleep(for: .milliseconds(1)) }
        guard let channel else { return }
        let configure = HostMessage.Configure(flow: setup.flow, instance: setup.plan, states: states, runInit: pendingInit)
        var buffer = channel.allocator.buffer(capacity: 4096)
        do {
            try FrameEncoder.write(.configure(configure), into: &buffer)
            channel.writeAndFlush(buffer, promise: nil)
        } catch {
            failCurrent(reason: "could not encode the configure frame: \(error)")
        }
    }

    private func attach(_ channel: any Channel) async {
        let link = self.link
        let limit: TimeAmount? = timeLimitMs > 0 ? .milliseconds(Int64(timeLimitMs)) : nil
        var onSilence: (@Sendable (TimeAmount) -> Void)?
        if let events = eventsContinuation {
            onSilence = { @Sendable (silent: TimeAmount) in events.yield(.silent(silent)) }
        }
        let tell = onSilence
        try? await link.loop.submit {
            link.attach(channel, timeLimit: limit, onSilence: tell)
        }.get()
    }

    private func processExited(_ exit: ProcessExit) async {
        let reason = failReason ?? spawnFailure ?? "runtime process \(exit)"
        failReason = nil
        spawnFailure = nil
        let wasStopping = machine.state == .stopping
        let timedOut = self.timedOut
        self.timedOut = false
        // Let the event loop read what the process wrote before it died.
        let link = self.link
        let end = try? await link.loop.scheduleTask(in: .milliseconds(20)) { link.detach(timedOut: timedOut) }.futureResult.get()
        cleanUp()
        // What the process committed is the state after exactly the messages not delivered again.
        for (module, stats) in end?.committed ?? [:] {
            guard let state = stats.state else { continue }
            states[module] = state
            pendingInit.remove(module)
        }
        reported = [:]
        report(.processEnded(committed: end?.committed ?? [:], states: states))
        if let culprit = end?.culprit {
            // Never a silent loss: also when a stop had to kill a handler that did not finish.
            let endpoint = link.slots[culprit.slot]
            let runtime = setup.plan.runtime.rawValue
            let message = timedOut
                ? "this message ran past the module's time limit of \(timeLimitMs) ms (timeoutMs); the \(runtime) runtime instance was restarted and the messages after it are delivered again"
                : "the \(runtime) runtime instance \(wasStopping ? "was stopped (\(reason))" : "failed (\(reason))") while this message was in progress; the messages after it are delivered again"
            report(.moduleError(ModuleErrorReport(
                module: endpoint.module, port: endpoint.port,
                payload: try? JSONValue(parsing: Data(culprit.payload.readableBytesView), nesting: .userValue),
                message: message, stack: nil), origin: .host))
        }
        let action = machine.exited(reason: reason, at: .now)
        switch action {
        case .scheduleRetry(let delay):
            logger.warning("runtime instance failed; restarting", metadata: ["reason": "\(reason)", "in": "\(delay)"])
            report(.state(.failed, pid: nil, restarts: machine.restarts, reason: reason))
            finishStartWaiters(with: .failure(RunnerError.runtimeFailed(flow: setup.flow, runtime: setup.plan.runtime, reason: reason)))
            try? await Task.sleep(for: delay)
            if machine.retryTimerFired() == .spawn { spawn() }
        case .giveUp(let why):
            logger.error("runtime instance failed too often; giving up", metadata: ["reason": "\(why)"])
            report(.state(.failed, pid: nil, restarts: machine.restarts, reason: why))
            report(.gaveUp(reason: why))
            finishStartWaiters(with: .failure(RunnerError.runtimeFailed(flow: setup.flow, runtime: setup.plan.runtime, reason: why)))
        case .none, .spawn, .terminate:
            report(.state(.stopped, pid: nil, restarts: machine.restarts, reason: nil))
            finishStartWaiters(with: .failure(RunnerError.stopped(flow: setup.flow)))
        }
        if machine.state == .stopped || machine.state == .idle || { if case .failed = machine.state { return true } else { return false } }() {
            let waiters = exitWaiters
            exitWaiters.removeAll()
            for w in waiters { w.resume() }
        }
    }

    /// Closes the channel, forgets the process and removes the fifos of the generation that ended.
    private func cleanUp() {
        // Its `stats` still queued (read after its exit) are not taken: its counters are settled.
        endedGeneration = generation
        channel?.close(promise: nil)
        channel = nil
        process = nil
        fifos?.remove()
        fifos = nil
        eventsContinuation?.finish()
        eventsContinuation = nil
    }

    private func finishStartWaiters(with result: Result<[ModuleID: RuntimeMessage.LoadResult], any Error>) {
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
