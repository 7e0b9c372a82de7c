import FlowModel
import PipeBridge
import RunnerProtocol

/// Who recorded a module's error: its own code, or the host about one of its messages
/// (counted apart: `ModuleRecord.hostErrors`, added to the runtime's own error count).
enum ErrorOrigin: Sendable {
    case module, host
}

/// What a runtime instance tells the flow that owns it.
enum InstanceReport: Sendable {
    case state(InstanceState, pid: Int32?, restarts: Int, reason: String?)
    case log(module: ModuleID?, level: LogLevel, text: String)
    /// An error a module's handler raised (`origin` .module) or that the host records against one
    /// of its messages (.host: the process died or ran out of time with it).
    case moduleError(ModuleErrorReport, origin: ErrorOrigin)
    case stats([ModuleID: RuntimeMessage.ModuleStats])
    /// A process ended: `committed` holds, per module, the counters it
    /// committed (add them to the totals); `states` every hosted module's
    /// state as a restarted process gets it.
    case processEnded(committed: [ModuleID: RuntimeMessage.ModuleStats], states: [ModuleID: JSONValue])
    case gaveUp(reason: String)
}
