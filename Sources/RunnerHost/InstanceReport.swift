import FlowModel
import PipeBridge

/// The lifecycle of a runtime instance, as `status` shows it.
public enum InstanceState: String, Sendable, Codable {
    case starting, ready, stopping, stopped, failed
}

/// What a runtime instance tells the flow that owns it.
enum InstanceReport: Sendable {
    case state(InstanceState, pid: Int32?, restarts: Int, reason: String?)
    case log(module: ModuleID?, level: LogLevel, text: String)
    case moduleError(ModuleErrorReport)
    case stats([ModuleID: RuntimeMessage.ModuleStats])
    /// Counters of a process that ended: add them to the module's totals.
    case processEnded
    case gaveUp(reason: String)
}
