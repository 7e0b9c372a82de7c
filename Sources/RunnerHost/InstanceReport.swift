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
    /// A process ended: `committed` holds, per module, the counters it
    /// committed (add them to the totals); `states` every hosted module's
    /// state as a restarted process gets it.
    case processEnded(committed: [ModuleID: RuntimeMessage.ModuleStats], states: [ModuleID: JSONValue])
    case gaveUp(reason: String)
}
