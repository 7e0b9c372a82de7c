import Foundation
import NIOCore
import NIOPosix

/// One connection to a NATS server: publish, subscribe, request/reply, flush.
///
/// Every call hops to the connection's event loop, where its state lives
/// (`NATSConnectionHandler`). Writes of one call go out in one flush.
public final class NATSConnection: Sendable {
    public let address: NATSServerAddress
    /// Replies to this connection's requests come on subjects under this prefix.
    public let inboxPrefix: String
    /// What the server said of itself when the connection was made.
    public let info: NATSServerInfo
    private let channel: any Channel
    private let handler: NATSConnectionHandler

    private init(address: NATSServerAddress, inboxPrefix: String, info: NATSServerInfo, channel: any Channel, handler: NATSConnectionHandler) {
        self.address = address
        self.inboxPrefix = inboxPrefix
        self.info = info
        self.channel = channel
        self.handler = handler
    }

    /// Connects and completes the handshake (INFO, CONNECT, PING/PONG) within `timeout`.
    /// Throws `NATSError`: unreachable, refused credentials (`server`), TLS required, timed out.
    public static func connect(to address: NATSServerAddress, options: NATSConnectOptions = .init(),
                               tls: NATSTLSOptions = .init(), timeout: TimeAmount = .seconds(10),
                               group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> NATSConnection {
        guard NATSClientOp.isValid(subject: options.inboxPrefix, wildcards: false) else { throw NATSError.badSubject(options.inboxPrefix) }
        let loop = group.next()
        let handshake = loop.makePromise(of: NATSServerInfo.self)
        let handler = NATSConnectionHandler(loop: loop, address: address, options: options, tls: tls, handshake: handshake)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(timeout)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
                }
                .connect(host: address.host, port: address.port).get()
        } catch {
            handshake.fail(NATSError.unreachable(address.description, reason: "\(error)"))
            throw NATSError.unreachable(address.description, reason: "\(error)")
        }
        let timer = loop.scheduleTask(in: timeout) {
            handler.end(.timedOut("the handshake with \(address) (no INFO and PONG within \(timeout.nanoseconds / 1_000_000) ms)"))
        }
        do {
            let info = try await handshake.futureResult.get()
            timer.cancel()
            return NATSConnection(address: address, inboxPrefix: options.inboxPrefix, info: info, channel: channel, handler: handler)
        } catch {
            timer.cancel()
            try? await channel.close()
            throw error
        }
    }

    /// Publishes `payload` on `subject` (with a reply subject and headers when given).
    public func publish(_ payload: ByteBuffer, to subject: String, replyTo: String? = nil, headers: NATSHeaders? = nil) async throws {
        guard NATSClientOp.isValid(subject: subject, wildcards: false) else { throw NATSError.badSubject(subject) }
        if let replyTo, !NATSClientOp.isValid(subject: replyTo, wildcards: false) { throw NATSError.badSubject(replyTo) }
        guard payload.readableBytes <= info.maxPayload else {
            throw NATSError.payloadTooLarge(bytes: payload.readableBytes, max: info.maxPayload)
        }
        let handler = self.handler
        try await handler.loop.submit {
            if let ended = handler.ended { throw ended }
            if let headers {
                handler.write(.hpub(subject: subject, replyTo: replyTo, headers: headers, payload: payload))
            } else {
                handler.write(.pub(subject: subject, replyTo: replyTo, payload: payload))
            }
            handler.flushWrites()
        }.get()
    }

    /// Subscribes to `subject` (wildcards allowed), in `queue`'s group when given; past `limits`
    /// unread, the connection stops reading until the subscriber catches up (nothing is dropped).
    public func subscribe(to subject: String, queue: String? = nil, limits: NATSPendingLimits = .init()) async throws -> NATSSubscription {
        guard NATSClientOp.isValid(subject: subject, wildcards: true) else { throw NATSError.badSubject(subject) }
        let handler = self.handler
        let (sid, stream) = try await handler.loop.submit { try handler.subscribe(subject: subject, queue: queue, limits: limits) }.get()
        return NATSSubscription(sid: sid, subject: subject, messages: stream, handler: handler)
    }

    /// Sends a request and waits for the first reply, on an inbox of its own.
    /// Throws `noResponders` at once when no one subscribes to `subject`, `timedOut` after `timeout`.
    public func request(_ payload: ByteBuffer, to subject: String, headers: NATSHeaders? = nil,
                        timeout: Duration = .seconds(5)) async throws -> NATSMessage {
        let inbox = inboxPrefix + "." + NATSConnection.token()
        let subscription = try await subscribe(to: inbox)
        defer { Task { await subscription.unsubscribe() } }
        try await publish(payload, to: subject, replyTo: inbox, headers: headers)
        let reply = try await withThrowingTaskGroup(of: NATSMessage?.self) { group in
            group.addTask {
                for await m in subscription.messages { return m }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw NATSError.timedOut("the request on \(subject) (no reply within \(timeout))")
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        // Sent, and the connection ended before the reply: not retried elsewhere (it may have been handled).
        guard let reply else { throw NATSError.replyLost(subject: subject) }
        if reply.headers?.status == 503 { throw NATSError.noResponders(subject: subject) }
        return reply
    }

    /// Waits until the server has processed everything sent so far (a PING and its PONG).
    public func flush(timeout: TimeAmount = .seconds(5)) async throws {
        let handler = self.handler
        let loop = handler.loop
        try await loop.flatSubmit {
            let pong = handler.ping()
            let timer = loop.scheduleTask(in: timeout) { handler.end(.timedOut("a flush (no PONG within \(timeout.nanoseconds / 1_000_000) ms)")) }
            pong.whenComplete { _ in timer.cancel() }
            return pong
        }.get()
    }

    /// Closes the connection; subscriptions end, waiting calls fail with `closed`.
    public func close() async {
        let handler = self.handler
        try? await handler.loop.submit { handler.end(.closed("closed by this client")) }.get()
        try? await channel.closeFuture.get()
    }

    /// Waits until the connection ends, and says why.
    public func ended() async -> NATSError {
        try? await channel.closeFuture.get()
        return await endedReason()
    }

    /// Why the connection ended, if it did.
    public func endedReason() async -> NATSError {
        let handler = self.handler
        let ended = try? await handler.loop.submit { handler.ended }.get()
        return (ended ?? nil) ?? .closed("the subscription ended")
    }

    /// What the server refused lately without closing the connection (`-ERR 'Permissions Violation…'`),
    /// newest last: a publish or subscription it refused is not answered otherwise.
    public func refusals() async -> [String] {
        let handler = self.handler
        return (try? await handler.loop.submit { handler.refusals }.get()) ?? []
    }

    /// The connection's handler, for tests that look at its flow control.
    var handlerForTesting: NATSConnectionHandler { handler }

    /// A random token for inbox subjects (22 characters of [A-Za-z0-9]).
    static func token() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var g = SystemRandomNumberGenerator()
        return String((0..<22).map { _ in alphabet[Int(g.next(upperBound: UInt(alphabet.count)))] })
    }
}

/// The messages of one subscription, in order, until it is unsubscribed or the connection ends.
public struct NATSSubscription: Sendable {
    public let sid: Int
    public let subject: String
    public let messages: NATSMessages
    let handler: NATSConnectionHandler

    /// Stops the subscription: the server is told, the stream ends.
    public func unsubscribe() async {
        let handler = self.handler, sid = self.sid
        try? await handler.loop.submit { handler.unsubscribe(sid) }.get()
    }
}
