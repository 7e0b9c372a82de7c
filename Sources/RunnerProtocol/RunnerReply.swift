import FlowModel

/// A runner's answer to one `RunnerCommand`.
public enum RunnerReply: Sendable, Codable {
    case ok
    case runtimes([RuntimeInfo])
    case status([FlowRunStatus])
    case bool(Bool)
    /// `{ "flow/module": {inputStates, outputStates, errors, state} }`
    case step(JSONValue)
    case environments([EnvironmentInfo])
    case environment(EnvironmentID)
    /// A `deploy` that took modules off this runner: their states after the last message they
    /// finished here (they left drained), for their new place (docs/runner-protocol.md, "Moves").
    case released([ModuleID: JSONValue])
    /// `message` is the one-line reason for the user.
    case failure(code: ReplyCode, message: String)
}
