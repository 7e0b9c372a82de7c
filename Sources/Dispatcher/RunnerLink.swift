import FlowModel
import RunnerHost

/// The dispatcher's connection to one runner. The embedded runner is a
/// `LocalRunnerLink`; remote and browser runners will be other transports
/// carrying the same `RunnerCommand`/`RunnerReply` messages.
public protocol RunnerLink: Sendable {
    var runnerID: String { get }
    func send(_ command: RunnerCommand) async -> RunnerReply
}

/// A runner in the dispatcher's own process.
public struct LocalRunnerLink: RunnerLink {
    public let runnerID: String
    public let host: RunnerHost

    public init(runnerID: String = "local", host: RunnerHost) {
        self.runnerID = runnerID
        self.host = host
    }

    public func send(_ command: RunnerCommand) async -> RunnerReply {
        await host.handle(command)
    }
}
