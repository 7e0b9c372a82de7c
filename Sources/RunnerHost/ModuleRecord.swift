import FlowModel
import PipeBridge
import RunnerProtocol

/// Bookkeeping behind `ModuleStatus`: totals survive process restarts.
/// `base` adds up what ended processes committed; `current` is the running
/// process's provisional count (its last `stats`).
struct ModuleRecord: Sendable {
    let id: ModuleID
    var runtime: RuntimeKind
    var state: ModuleState = .stopped
    var codeHash = ""
    var swaps = 0
    var base = (in: 0, out: 0, errors: 0)
    var current = (in: 0, out: 0, errors: 0)
    var hostErrors = 0
    var errors = Ring<ModuleErrorRecord>(capacity: 20)
    var logs = Ring<LogRecord>(capacity: 50)
    var moduleState: JSONValue?

    init(id: ModuleID, runtime: RuntimeKind) { self.id = id; self.runtime = runtime }

    /// The module's process ended (or the module left it): what it committed
    /// joins the totals; what it reported beyond that (`current`, from
    /// provisional stats) is dropped, as those messages are delivered again.
    mutating func processEnded(committed: RuntimeMessage.ModuleStats?) {
        if let committed {
            base.in += committed.in
            base.out += committed.out
            base.errors += committed.errors
        }
        current = (0, 0, 0)
    }

    func status(queued: Int) -> ModuleStatus {
        let errs = errors.elements
        var status = ModuleStatus(id: id, runtime: runtime, state: state,
                                  messagesIn: base.in + current.in, messagesOut: base.out + current.out,
                                  errors: base.errors + current.errors + hostErrors, queued: queued,
                                  lastError: errs.last, recentErrors: errs, recentLogs: logs.elements, moduleState: moduleState)
        status.codeHash = codeHash
        status.swaps = swaps
        return status
    }
}
