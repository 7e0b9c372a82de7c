import FlowModel
import NIOConcurrencyHelpers
import NIOCore
import RunnerProtocol

/// The runner in the dispatcher's own process, behind the same `RunnerLink` as a joined one:
/// commands are calls, its events come as `notices`, it is always heard.
public final class LocalRunnerLink: RunnerLink, Sendable {
    public let runnerID: RunnerID
    public let host: RunnerHost
    public let notices: AsyncStream<RunnerNotice>
    private let tell: AsyncStream<RunnerNotice>.Continuation
    private let closed = NIOLockedValueBox<String?>(nil)
    /// Its data path: batches out through the dispatcher's forwarding, batches in through `deliver`.
    private let relay = NIOLockedValueBox<RelayTransport?>(nil)

    /// Makes the stream of a runner's notices before its host exists (the host reports into it:
    /// `RunnerHost(…, events: { tell.yield(.event($0)) })`).
    public static func makeNotices() -> (AsyncStream<RunnerNotice>, AsyncStream<RunnerNotice>.Continuation) {
        AsyncStream.makeStream(of: RunnerNotice.self)
    }

    public init(runnerID: RunnerID = .local, host: RunnerHost,
                notices: (AsyncStream<RunnerNotice>, AsyncStream<RunnerNotice>.Continuation)) {
        self.runnerID = runnerID
        self.host = host
        (self.notices, self.tell) = notices
    }

    /// Connects the runner's data path as `end`: the batches it sends to other runners go to `forward`.
    public func connect(as end: StreamEnd, forward: @escaping @Sendable (ByteBuffer) -> Void) async {
        let relay = RelayTransport(send: forward)
        self.relay.withLockedValue { $0 = relay }
        await host.connected(as: end, transport: relay)
    }

    public func send(_ command: RunnerCommand) async -> RunnerReply {
        if let why = closedReason { return .failure(code: .runnerLost, message: "runner \(runnerID) left: \(why)") }
        return await host.handle(command)
    }

    public func deliver(batch: ByteBuffer) {
        guard closedReason == nil else { return }
        relay.withLockedValue { $0 }?.arrived(batch)
    }

    public var lastHeard: ContinuousClock.Instant { .now }

    public func close(reason: String) {
        let first = closed.withLockedValue { c -> Bool in
            guard c == nil else { return false }
            c = reason
            return true
        }
        if first { tell.finish() }
    }

    public var closedReason: String? { closed.withLockedValue { $0 } }
}
