import FlowModel
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RunnerProtocol

/// A runner joined over WebSocket at `/runners`. Everything it is sent goes
/// through one ordered outbox (commands, pings, data batches), written by
/// the session's one writer task, so a stream's batches keep their order.
///
/// The outbox is bounded in bytes (`maxPendingBytes`): a runner that stops
/// reading while batches keep coming for it is cut off (lost, its modules
/// placed elsewhere, the senders keeping their frames) instead of growing the
/// dispatcher's memory without end.
public final class RemoteRunnerLink: RunnerLink, Sendable {
    public let runnerID: RunnerID
    let session: Int
    enum Outgoing: Sendable {
        case text(String)
        case binary(ByteBuffer)
    }
    let outbox: AsyncStream<Outgoing>
    private let continuation: AsyncStream<Outgoing>.Continuation
    /// What the runner said on its own, read by one reader (`RunnerDirectory`). Bounded in bytes: past
    /// `maxNoticeBytes` not yet read, the session stops reading the runner's socket (`received` waits)
    /// until half is read, so a runner that floods events or `states` (each saved to disk) is slowed
    /// down to what the dispatcher handles instead of growing its memory.
    public let notices: AsyncStream<RunnerNotice>
    private let tell: AsyncStream<(RunnerNotice, bytes: Int)>.Continuation
    private let backlog: NIOLockedValueBox<NoticeBacklog>
    let maxNoticeBytes: Int
    /// 16 MiB of decoded events and state reports.
    public static let defaultMaxNoticeBytes = 16 * 1024 * 1024
    struct NoticeBacklog {
        var bytes = 0
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
    }
    /// When the runner was last heard (the session's heartbeat machine keeps it).
    private let heard: @Sendable () -> ContinuousClock.Instant
    private let state = NIOLockedValueBox<(next: Int, waiting: [Int: CheckedContinuation<RunnerReply, Never>], closed: String?)>((1, [:], nil))
    /// A command not answered within this time fails with `runner-timeout` (a deploy waits for its load check).
    let commandTimeout: Duration
    let deployTimeout: Duration
    /// Bytes of data batches queued and not yet written to the runner's socket.
    private let pending = NIOLockedValueBox(0)
    let maxPendingBytes: Int
    /// 256 MiB: a runner that reads, however slow its modules, takes what it is sent
    /// (its host queues it); only one that stops reading, or a very slow network, gets there.
    public static let defaultMaxPendingBytes = 256 * 1024 * 1024

    init(runnerID: RunnerID, session: Int, commandTimeout: Duration = .seconds(30), deployTimeout: Duration = .seconds(120),
         maxPendingBytes: Int = RemoteRunnerLink.defaultMaxPendingBytes, maxNoticeBytes: Int = RemoteRunnerLink.defaultMaxNoticeBytes,
         lastHeard: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.heard = lastHeard
        self.runnerID = runnerID
        self.session = session
        self.maxPendingBytes = maxPendingBytes
        self.commandTimeout = commandTimeout
        self.deployTimeout = deployTimeout
        (outbox, continuation) = AsyncStream.makeStream(of: Outgoing.self)
        self.maxNoticeBytes = maxNoticeBytes
        let backlog = NIOLockedValueBox(NoticeBacklog())
        self.backlog = backlog
        let (inbox, tell) = AsyncStream.makeStream(of: (RunnerNotice, bytes: Int).self)
        self.tell = tell
        // One reader: each notice read gives its bytes back, and wakes the session once half is read.
        nonisolated(unsafe) var reader = inbox.makeAsyncIterator()
        notices = AsyncStream(unfolding: {
            guard let (notice, bytes) = await reader.next() else { return nil }
            let waiter = backlog.withLockedValue { b -> CheckedContinuation<Void, Never>? in
                b.bytes -= bytes
                guard b.bytes <= maxNoticeBytes / 2 else { return nil }
                defer { b.waiter = nil }
                return b.waiter
            }
            waiter?.resume()
            return notice
        })
    }

    public func send(_ command: RunnerCommand) async -> RunnerReply {
        let timeout = if case .deploy = command { deployTimeout } else { commandTimeout }
        let runner = runnerID
        return await withCheckedContinuation { (c: CheckedContinuation<RunnerReply, Never>) in
            let id: Int? = state.withLockedValue { s in
                guard s.closed == nil else { return nil }
                let id = s.next
                s.next += 1
                s.waiting[id] = c
                return id
            }
            guard let id else {
                c.resume(returning: .failure(code: .runnerLost, message: "runner \(runner) is not connected: \(state.withLockedValue { $0.closed ?? "" })"))
                return
            }
            let text = String(decoding: DispatcherMessage.command(id: id, command).encoded(), as: UTF8.self)
            continuation.yield(.text(text))
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.resolve(id: id, .failure(code: .runnerTimeout,
                    message: "runner \(runner) did not answer \(command.op) within \(timeout): is it overloaded or cut off?"))
            }
        }
    }

    public func deliver(batch: ByteBuffer) {
        // Closed: dropped (the senders keep their frames and send them where the next `routes` say).
        guard closedReason == nil else { return }
        let size = batch.readableBytes
        let over = pending.withLockedValue { p -> Int? in
            p += size
            return p > maxPendingBytes ? p : nil
        }
        if let over {
            close(reason: "it does not read what it is sent: \(over / (1024 * 1024)) MiB of data batches waiting for it (the limit is \(maxPendingBytes / (1024 * 1024)) MiB)")
            return
        }
        continuation.yield(.binary(batch))
    }

    /// The session's writer wrote a data batch of `bytes`.
    func written(bytes: Int) { pending.withLockedValue { $0 -= bytes } }

    /// Why the link was closed, once it is.
    public var closedReason: String? { state.withLockedValue { $0.closed } }

    public var lastHeard: ContinuousClock.Instant { heard() }

    /// The session read an event or a state report (`bytes` long on the wire): for the link's reader.
    /// Waits while more than `maxNoticeBytes` are not read yet (the session reads nothing meanwhile).
    func received(_ notice: RunnerNotice, bytes: Int) async {
        let over = backlog.withLockedValue { b -> Bool in
            guard !b.closed else { return false }
            b.bytes += bytes
            return b.bytes > maxNoticeBytes
        }
        tell.yield((notice, bytes))
        guard over else { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = backlog.withLockedValue { b -> Bool in
                if b.closed || b.bytes <= maxNoticeBytes / 2 { return true }
                b.waiter = c
                return false
            }
            if now { c.resume() }
        }
    }

    /// Bytes of notices not read yet.
    var noticeBacklogBytes: Int { backlog.withLockedValue { $0.bytes } }

    func write(_ message: DispatcherMessage) {
        continuation.yield(.text(String(decoding: message.encoded(), as: UTF8.self)))
    }

    /// A reply arrived (or a deadline passed); a second one for the same id is dropped.
    func resolve(id: Int, _ reply: RunnerReply) {
        let waiter = state.withLockedValue { $0.waiting.removeValue(forKey: id) }
        waiter?.resume(returning: reply)
    }

    /// The connection ended: every command waiting fails with the reason.
    public func close(reason: String) {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<RunnerReply, Never>] in
            guard s.closed == nil else { return [] }
            s.closed = reason
            defer { s.waiting = [:] }
            return Array(s.waiting.values)
        }
        continuation.finish()
        tell.finish()
        let waiter = backlog.withLockedValue { b -> CheckedContinuation<Void, Never>? in
            b.closed = true
            defer { b.waiter = nil }
            return b.waiter
        }
        waiter?.resume()
        for w in waiters { w.resume(returning: .failure(code: .runnerLost, message: "runner \(runnerID) left: \(reason)")) }
    }
}
