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
    /// `code` is a `RunnerError.code`; `message` is the one-line reason for the user.
    case failure(code: String, message: String)
}

extension RunnerHost {
    /// Carries out one command; never throws: failures are replies.
    public func handle(_ command: RunnerCommand) async -> RunnerReply {
        do {
            switch command {
            case .listRuntimes: return .runtimes(await listRuntimes())
            case .deploy(let flow, let breakpoints, let revision, let start, let states):
                try await deploy(flow, breakpoints: breakpoints, revision: revision, start: start, restoring: states)
            case .start(let id): try await start(id)
            case .stop(let id): try await stop(id)
            case .remove(let id): try await remove(id)
            case .inject(let flow, let module, let port, let payload):
                try await inject(flow, module: module, port: port, payload: payload)
            case .status(let id):
                if let id { return .status([try await status(id)]) }
                return .status(await status())
            case .setBreakpoint(let flow, let breakpoint):
                try await run(flow).setBreakpoint(breakpoint)
            case .removeBreakpoint(let flow, let module):
                return .bool(try await run(flow).removeBreakpoint(module))
            case .step(let flow):
                return .step(try await step(flow))
            case .resume(let flow):
                return .bool(try await run(flow).resume())
            case .listEnvironments(let runtime):
                return .environments(await listEnvironments(runtime: runtime))
            case .installEnvironment(let runtime, let dependencies):
                return .environment(try await installEnvironment(runtime: runtime, dependencies: dependencies))
            case .removeEnvironment(let id):
                try await removeEnvironment(id)
            }
            return .ok
        } catch let error as RunnerError {
            return .failure(code: error.code, message: error.description)
        } catch let error as EnvironmentError {
            return .failure(code: error.code, message: error.description)
        } catch let error as EnvironmentDeployError {
            return .failure(code: error.code, message: error.description)
        } catch {
            return .failure(code: "internal", message: "\(error)")
        }
    }
}
