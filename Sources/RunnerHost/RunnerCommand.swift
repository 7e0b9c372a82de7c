import FlowModel
import PipeBridge

/// A request from the dispatcher to a runner. Codable: the embedded runner
/// gets it as a value, a remote runner will get it as JSON over WebSocket.
public enum RunnerCommand: Sendable, Codable {
    case listRuntimes
    /// Deploys or replaces a flow with its breakpoints; `start` starts a new
    /// flow in the same step (its first start is its load check). `states`
    /// are module states to start from when the flow is new to the runner
    /// (kept by the dispatcher across its restarts); those modules' `init`
    /// does not run again.
    case deploy(FlowDocument, breakpoints: [Breakpoint], revision: Int?, start: Bool = false, states: [ModuleID: JSONValue] = [:])
    case start(FlowID)
    case stop(FlowID)
    case remove(FlowID)
    case inject(flow: FlowID, module: ModuleID, port: PortName?, payload: String)
    case status(FlowID?)
    case setBreakpoint(flow: FlowID, Breakpoint)
    case removeBreakpoint(flow: FlowID, module: ModuleID)
    /// One step of one flow, or of every paused flow.
    case step(FlowID?)
    case resume(FlowID)
    /// The runner's dependency environments (of one runtime, or all).
    case listEnvironments(RuntimeKind?)
    /// Builds the environment of a dependency list, unless it exists.
    case installEnvironment(RuntimeKind, dependencies: [String])
    /// Deletes an environment; refused while a deployed module uses it.
    case removeEnvironment(EnvironmentID)
}

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
    /// `code` is a `RunnerError.code`; `message` is the one-line reason for the user.
    case failure(code: String, message: String)
}

extension RunnerCommand {
    /// The same command in the runner protocol's form (every module of a deployed flow placed here).
    public var remote: RemoteCommand {
        switch self {
        case .listRuntimes: .listRuntimes
        case .deploy(let flow, let breakpoints, let revision, let start, let states):
            .deploy(RemoteDeploy(flow: flow, placed: flow.modules.map { PlacedModule(module: $0.id, gen: 1, state: states[$0.id]) },
                                 breakpoints: breakpoints, revision: revision, start: start))
        case .start(let id): .start(id)
        case .stop(let id): .stop(id)
        case .remove(let id): .remove(id)
        case .inject(let flow, let module, let port, let payload): .inject(flow: flow, module: module, port: port, payload: payload)
        case .status(let id): .status(id)
        case .setBreakpoint(let flow, let b): .setBreakpoint(flow: flow, b)
        case .removeBreakpoint(let flow, let module): .removeBreakpoint(flow: flow, module: module)
        case .step(let id): .step(id)
        case .resume(let id): .resume(id)
        case .listEnvironments(let runtime): .listEnvironments(runtime)
        case .installEnvironment(let runtime, let dependencies): .installEnvironment(runtime, dependencies: dependencies)
        case .removeEnvironment(let id): .removeEnvironment(id)
        }
    }
}

extension RunnerHost {
    /// Carries out one command; never throws: failures are replies.
    public func handle(_ command: RunnerCommand) async -> RunnerReply {
        await handle(command.remote)
    }
}
