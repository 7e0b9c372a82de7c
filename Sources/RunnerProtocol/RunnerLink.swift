import FlowModel
import NIOCore
import RunnerHost

/// The dispatcher's connection to one runner: commands in the runner
/// protocol's form and their replies, data batches for it. Its events reach
/// the dispatcher through the `RunnerEventSink` it was made with. The
/// embedded runner (`LocalRunnerLink`) and a joined one (`RemoteRunnerLink`,
/// over WebSocket) are the same to everything above: the registry, the API
/// and the debugger do not know which they talk to.
public protocol RunnerLink: Sendable {
    var runnerID: RunnerID { get }
    func send(_ command: RemoteCommand) async -> RunnerReply
    /// A data batch from another runner, addressed to this one (bytes as they came).
    func deliver(batch: ByteBuffer)
}

/// Where every runner's events go, with the runner they came from.
public typealias RunnerEventSink = @Sendable (RunnerID, RunnerEvent) -> Void

/// The runner in the dispatcher's own process.
public struct LocalRunnerLink: RunnerLink {
    public let runnerID: RunnerID
    public let host: RunnerHost

    public init(runnerID: RunnerID = .local, host: RunnerHost) {
        self.runnerID = runnerID
        self.host = host
    }

    public func send(_ command: RemoteCommand) async -> RunnerReply {
        await host.handle(command)
    }

    public func deliver(batch: ByteBuffer) {
        host.receive(batch: batch)
    }
}
