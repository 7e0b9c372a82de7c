import FlowModel
import NIOConcurrencyHelpers
import RunnerProtocol

/// The order in which a runner carries out the dispatcher's commands
/// (docs/runner-protocol.md, "Commands"): the commands that change one flow
/// (deploy, routes, start, stop, remove, inject, breakpoints, pause, step,
/// resume) run one after another, in the order they came, as the embedded
/// runner and the browser runner run them; commands that only read
/// (`status`, `listRuntimes`, `listEnvironments`) run at once, beside them.
/// Flows do not wait for each other, and environment builds have a lane of
/// their own.
public final class CommandLanes: Sendable {
    /// Where a command runs.
    public enum Lane: Hashable, Sendable {
        /// At once, beside everything else.
        case alongside
        /// After the commands before it in the same lane.
        case flow(FlowID)
        case environments
        /// `step` of every paused flow.
        case everyFlow
    }

    private struct Tail { var token: Int; var task: Task<Void, Never> }
    private let tails = NIOLockedValueBox<(next: Int, byLane: [Lane: Tail])>((0, [:]))

    public init() {}

    /// Runs `work` in `lane`, after what was submitted to it before. Call in the order the commands came.
    public func submit(_ lane: Lane, _ work: @escaping @Sendable () async -> Void) {
        guard lane != .alongside else {
            Task { await work() }
            return
        }
        let tails = self.tails
        tails.withLockedValue { state in
            let token = state.next
            state.next += 1
            let previous = state.byLane[lane]?.task
            let task = Task {
                await previous?.value
                await work()
                // The lane is empty again: forget it (a removed flow leaves nothing behind).
                tails.withLockedValue { s in if s.byLane[lane]?.token == token { s.byLane[lane] = nil } }
            }
            state.byLane[lane] = Tail(token: token, task: task)
        }
    }

    /// Lanes with work in them (for tests).
    public var busyLanes: Int { tails.withLockedValue { $0.byLane.count } }
}

extension RunnerCommand {
    /// The lane this command runs in (`CommandLanes`).
    public var lane: CommandLanes.Lane {
        switch self {
        case .status, .listRuntimes, .listEnvironments: .alongside
        case .deploy(let d): .flow(d.flow.id)
        case .routes(let flow, _), .start(let flow), .stop(let flow), .remove(let flow), .inject(let flow, _, _, _),
             .setBreakpoint(let flow, _), .removeBreakpoint(let flow, _), .pause(let flow), .resume(let flow):
            .flow(flow)
        case .fence(let leases), .release(let leases):
            leases.first.map { .flow($0.flow) } ?? .alongside
        case .step(let flow), .markStep(let flow): flow.map { .flow($0) } ?? .everyFlow
        case .installEnvironment, .removeEnvironment: .environments
        }
    }
}
