import FlowModel
import Foundation

/// A module's lifecycle, as `status` shows it.
public enum ModuleState: String, Sendable, Codable {
    case loading, running, loadError = "load-error", paused, stopped
    /// No runner can take it yet (see `unplacedReason` on its status).
    case unplaced
    /// Placed on a runner that does not answer now: `suspect`, or lost and not
    /// placed again yet (see `unreachableReason`); `moduleState` is the last saved.
    case unreachable
}

/// One recorded module error: what came in, what went wrong, when.
public struct ModuleErrorRecord: Sendable, Codable, Equatable {
    public var time: Date
    public var port: PortName?
    public var payload: JSONValue?
    public var message: String
    public var stack: String?

    public init(time: Date, port: PortName?, payload: JSONValue?, message: String, stack: String?) {
        self.time = time; self.port = port; self.payload = payload; self.message = message; self.stack = stack
    }
}

/// One log line of a module (or of its runtime instance when `module` is nil).
public struct LogRecord: Sendable, Codable, Equatable {
    public var time: Date
    public var level: LogLevel
    public var text: String

    public init(time: Date, level: LogLevel, text: String) { self.time = time; self.level = level; self.text = text }
}

/// Counters, state and recent history of one module.
public struct ModuleStatus: Sendable, Codable {
    public var id: ModuleID
    public var runtime: RuntimeKind
    public var state: ModuleState
    public var messagesIn: Int
    public var messagesOut: Int
    public var errors: Int
    public var queued: Int
    public var lastError: ModuleErrorRecord?
    public var recentErrors: [ModuleErrorRecord]
    public var recentLogs: [LogRecord]
    public var moduleState: JSONValue?
    /// A fingerprint of the module's code (changes with each hot swap of new code).
    public var codeHash: String = ""
    /// How many times a hot swap replaced the module's code, config or runtime.
    public var swaps: Int = 0
    /// While the flow is paused: the oldest messages queued for the module.
    public var queuedPayloads: [JSONValue]?
    /// Set while the module's runtime instance has had this module's message
    /// in flight (its oldest one) and sent nothing for over a second: for how
    /// many milliseconds. Past the time limit (`timeoutMs`) the instance is restarted.
    public var runningLongMs: Int?
    /// The runner it runs on (set by the dispatcher).
    public var runner: String?
    /// Why it runs on no runner (`state` is `unplaced`).
    public var unplacedReason: String?
    /// Why its runner does not answer (`state` is `unreachable`).
    public var unreachableReason: String?
    /// For a module that runs nowhere now (`unplaced`, `unreachable`): the messages held for it
    /// by the other parts of its flow and by the dispatcher's inject stream.
    public var waiting: Int?

    public init(id: ModuleID, runtime: RuntimeKind, state: ModuleState, messagesIn: Int, messagesOut: Int, errors: Int, queued: Int,
                lastError: ModuleErrorRecord?, recentErrors: [ModuleErrorRecord], recentLogs: [LogRecord], moduleState: JSONValue?,
                unplacedReason: String? = nil) {
        self.id = id; self.runtime = runtime; self.state = state; self.messagesIn = messagesIn; self.messagesOut = messagesOut
        self.errors = errors; self.queued = queued; self.lastError = lastError; self.recentErrors = recentErrors
        self.recentLogs = recentLogs; self.moduleState = moduleState; self.unplacedReason = unplacedReason
    }

    /// A module that runs on no runner yet.
    public static func unplaced(_ id: ModuleID, runtime: RuntimeKind, reason: String) -> ModuleStatus {
        ModuleStatus(id: id, runtime: runtime, state: .unplaced, messagesIn: 0, messagesOut: 0, errors: 0, queued: 0,
                     lastError: nil, recentErrors: [], recentLogs: [], moduleState: nil, unplacedReason: reason)
    }

    /// A module whose runner does not answer now, with its last saved state.
    public static func unreachable(_ id: ModuleID, runtime: RuntimeKind, runner: RunnerID, reason: String, state: JSONValue?) -> ModuleStatus {
        var s = ModuleStatus(id: id, runtime: runtime, state: .unreachable, messagesIn: 0, messagesOut: 0, errors: 0, queued: 0,
                             lastError: nil, recentErrors: [], recentLogs: [], moduleState: state)
        s.runner = runner.rawValue
        s.unreachableReason = reason
        return s
    }
}

/// The lifecycle of a runtime instance with its process.
public struct InstanceStatus: Sendable, Codable {
    public var runtime: RuntimeKind
    public var state: InstanceState
    public var pid: Int32?
    public var restarts: Int
    public var reason: String?
    public var modules: [ModuleID]
    /// The runner it runs on (set by the dispatcher).
    public var runner: String?
    /// The dependency environment the instance runs in, if its modules have dependencies.
    public var environment: EnvironmentID? = nil

    public init(runtime: RuntimeKind, state: InstanceState, pid: Int32?, restarts: Int, reason: String?, modules: [ModuleID],
                runner: String? = nil, environment: EnvironmentID? = nil) {
        self.runtime = runtime; self.state = state; self.pid = pid; self.restarts = restarts; self.reason = reason
        self.modules = modules; self.runner = runner; self.environment = environment
    }
}

/// The runner's view of one flow.
public struct FlowRunStatus: Sendable, Codable {
    public var flow: FlowID
    public var state: FlowRunState
    public var reason: String?
    public var instances: [InstanceStatus]
    public var modules: [ModuleStatus]
    public var breakpoints: [Breakpoint] = []
    /// Where the debugger stopped the flow, while it is paused at a breakpoint.
    public var pausedAt: PausedAt?
    /// Frames from other runners refused here for a stale generation (docs/runner-protocol.md, "Generations and fencing").
    public var staleFrames: Int?
    /// Messages sent again to modules on other runners after they moved, per target module:
    /// an upper bound of the duplicates (at-least-once).
    public var redelivered: [String: Int]?
    /// Messages this part holds for modules that run elsewhere or nowhere, per target module.
    public var waitingFor: [String: Int]?

    public init(flow: FlowID, state: FlowRunState, reason: String?, instances: [InstanceStatus], modules: [ModuleStatus],
                breakpoints: [Breakpoint] = [], pausedAt: PausedAt? = nil) {
        self.flow = flow; self.state = state; self.reason = reason; self.instances = instances
        self.modules = modules; self.breakpoints = breakpoints; self.pausedAt = pausedAt
    }
}

/// Where a paused flow stopped.
public struct PausedAt: Sendable, Codable, Equatable {
    public var module: ModuleID
    public var port: PortName
    public var payload: JSONValue

    public init(module: ModuleID, port: PortName, payload: JSONValue) { self.module = module; self.port = port; self.payload = payload }
}

/// The lifecycle of a runtime instance, as `status` shows it.
public enum InstanceState: String, Sendable, Codable {
    case starting, ready, stopping, stopped, failed
}

public enum FlowRunState: String, Sendable, Codable {
    case deployed, running, stopped, degraded, paused
}
