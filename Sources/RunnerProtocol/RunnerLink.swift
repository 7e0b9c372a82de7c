import FlowModel
import NIOCore

/// The dispatcher's connection to one runner, the only way it talks to any
/// runner: commands and their replies, data batches for it, and what the
/// runner says on its own (`notices`: events and state reports), when it was
/// last heard, and its end. The embedded runner (`LocalRunnerLink`, in
/// RunnerHost) and a joined one (`RemoteRunnerLink`, over WebSocket) are the
/// same to everything above: the registry, the API and the debugger do not
/// know which they talk to.
public protocol RunnerLink: BatchReceiver {
    var runnerID: RunnerID { get }
    func send(_ command: RunnerCommand) async -> RunnerReply
    /// What the runner says on its own, in the order it said it; the stream ends when the link is closed.
    /// Read by one reader (the runner directory).
    var notices: AsyncStream<RunnerNotice> { get }
    /// When anything was last heard from the runner.
    var lastHeard: ContinuousClock.Instant { get }
    /// Ends the link: commands waiting fail with `runner-lost` and the reason, nothing more is sent
    /// or delivered, `notices` ends. A second close is ignored.
    func close(reason: String)
    /// Why the link was closed, once it is.
    var closedReason: String? { get }
}

/// What a runner says without being asked (docs/runner-protocol.md, "Runner → dispatcher").
public enum RunnerNotice: Sendable {
    case event(RunnerEvent)
    /// The latest `ctx.state` of modules it runs, for their next place should it be lost.
    case states(flow: FlowID, modules: [ModuleStateReport])
}

/// Where the dispatcher's forwarding table sends a data batch: a runner's link, or the
/// dispatcher's own inject stream.
public protocol BatchReceiver: Sendable {
    /// A data batch from another runner, addressed to this one (bytes as they came).
    func deliver(batch: ByteBuffer)
}
