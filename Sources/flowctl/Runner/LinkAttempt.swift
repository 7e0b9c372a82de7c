import NIOConcurrencyHelpers
import NIOCore
import RunnerHost
import RunnerProtocol

/// One connection attempt: its outgoing queue and its task. Given up
/// (`abandon`), it writes nothing more and its task is cancelled.
final class LinkAttempt: Sendable {
    enum Outgoing: Sendable {
        case text(String)
        case binary(ByteBuffer)
    }

    let outgoing: AsyncStream<Outgoing>
    let continuation: AsyncStream<Outgoing>.Continuation
    /// The hello to send once the socket is open.
    let hello = NIOLockedValueBox<RunnerHello?>(nil)
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    /// The cross-runner transport over this connection: batches out as binary messages, batches read in by `arrived`.
    let relay: RelayTransport

    init() {
        let (outgoing, continuation) = AsyncStream.makeStream(of: Outgoing.self)
        (self.outgoing, self.continuation) = (outgoing, continuation)
        relay = RelayTransport { batch in continuation.yield(.binary(batch)) }
    }

    func start(_ body: @escaping @Sendable () async -> Void) {
        task.withLockedValue { $0 = Task { await body() } }
    }

    func send(_ item: Outgoing) { continuation.yield(item) }

    func sendHello() {
        guard let hello = hello.withLockedValue({ $0 }) else { return }
        send(.text(String(decoding: RunnerMessage.hello(hello).encoded(), as: UTF8.self)))
    }

    func finishOutgoing() { continuation.finish() }

    func abandon() {
        continuation.finish()
        task.withLockedValue { $0 }?.cancel()
    }
}
