import FlowModel
import RunnerProtocol

extension RunnerHost {
    /// Carries out one command of the runner protocol; never throws: failures are replies.
    /// The embedded runner and a joined runner take the same commands (the
    /// dispatcher's `RunnerLink` does not know which it talks to).
    public func handle(_ command: RunnerCommand) async -> RunnerReply {
        do {
            switch command {
            case .listRuntimes: return .runtimes(await listRuntimes())
            case .deploy(let d):
                let departed = try await deploy(d.flow, placed: d.placed, routes: d.routes, breakpoints: d.breakpoints,
                                                revision: d.revision, start: d.start, paused: d.paused, handedOver: Set(d.handedOver))
                if !departed.isEmpty { return .released(departed) }
            case .routes(let flow, let routes): await setRoutes(flow: flow, routes)
            case .fence(let leases), .release(let leases):
                try await letGo(leases)
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
            case .pause(let flow):
                try await run(flow).pause()
            case .step(let flow):
                return .step(try await step(flow))
            case .markStep(let flow):
                try await markStep(flow)
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
            return .failure(code: .internalError, message: "\(error)")
        }
    }
}
