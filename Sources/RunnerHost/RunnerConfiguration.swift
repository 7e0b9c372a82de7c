import FlowModel
import Foundation
import PipeBridge
import RunnerProtocol

/// Settings of one runner, with defaults for a local machine.
public struct RunnerConfiguration: Sendable {
    /// Where each instance's private fifo directory is made.
    public var fifoDirectory: String
    public var runtimesDirectory: String
    /// Searched for `python3` and `node`.
    public var searchPath: String
    public var maxFrameBytes: Int
    /// Unacknowledged frames per instance.
    public var window: Int
    /// Messages queued at the host per instance before its feeders are slowed down.
    public var queueBound: Int
    /// The same bound for feeders in a cycle of instances with this one (say
    /// python → node → python): stopping them at `queueBound` can stall the
    /// cycle when one handler call sends more than the bounds hold, so they
    /// are only stopped past this much larger bound (docs/architecture.md).
    public var cycleQueueBound: Int
    public var supervision: SupervisionStateMachine.Policy
    /// Where dependency environments live (docs/dependencies.md): the
    /// runner's state directory's `environments`.
    public var environmentsDirectory: String
    /// Installers (pip, npm) are killed after this long.
    public var installTimeLimit: Duration = .seconds(600)
    /// What the supervisors' timers sleep on (start timeout, stop grace, back-off): tests inject another.
    public var clock: any Clock<Duration> = ContinuousClock()

    public init(fifoDirectory: String = RunnerConfiguration.defaultFifoDirectory(),
                runtimesDirectory: String = RuntimeLocator.defaultRuntimesDirectory(),
                searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                maxFrameBytes: Int = PipeProtocol.defaultMaxFrameBytes,
                window: Int = PipeProtocol.defaultWindow,
                queueBound: Int = 10_000,
                cycleQueueBound: Int = 1_000_000,
                supervision: SupervisionStateMachine.Policy = .init(),
                environmentsDirectory: String = RunnerConfiguration.defaultEnvironmentsDirectory()) {
        self.fifoDirectory = fifoDirectory
        self.runtimesDirectory = runtimesDirectory
        self.searchPath = searchPath
        self.maxFrameBytes = maxFrameBytes
        self.window = window
        self.queueBound = queueBound
        self.cycleQueueBound = cycleQueueBound
        self.supervision = supervision
        self.environmentsDirectory = environmentsDirectory
    }

    /// `$XDG_RUNTIME_DIR/polyflow`, else `/tmp/polyflow-<uid>`.
    public static func defaultFifoDirectory() -> String {
        if let dir = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], !dir.isEmpty { return dir + "/polyflow" }
        return "/tmp/polyflow-\(getuid())"
    }
}
