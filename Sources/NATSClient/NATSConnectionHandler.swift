import NIOCore

/// The client's side of one NATS connection, on its channel's event loop:
/// parses what the server sends, answers its PINGs, completes the handshake,
/// hands messages to subscriptions and PONGs to `flush` callers.
///
/// Confined to the channel's event loop: every entry asserts it (debug builds).
final class NATSConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let loop: any EventLoop
    private let options: NATSConnectOptions
    private let tls: NATSTLSOptions
    private let address: NATSServerAddress
    private var parser = NATSParser()
    private var context: ChannelHandlerContext?
    /// Set until the first PONG after CONNECT (or the error that ends the handshake).
    private var handshake: EventLoopPromise<NATSServerInfo>?
    private(set) var info: NATSServerInfo?
    private var pongs = CircularBuffer<EventLoopPromise<Void>>()
    private var subscriptions: [Int: (continuation: AsyncStream<NATSMessage>.Continuation, gate: PendingGate)] = [:]
    /// Subscriptions whose readers hold too much: while any does, the socket is not read.
    private(set) var full: Set<Int> = []
    private var nextSID = 1
    /// The server's last refusals that left the connection open (permissions), newest last, at most 16.
    private(set) var refusals: [String] = []
    /// Why the connection ended (nil while it is open).
    private(set) var ended: NATSError?

    init(loop: any EventLoop, address: NATSServerAddress, options: NATSConnectOptions, tls: NATSTLSOptions,
         handshake: EventLoopPromise<NATSServerInfo>) {
        self.loop = loop
        self.address = address
        self.options = options
        self.tls = tls
        self.handshake = handshake
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        loop.assertInEventLoop()
        let ops: [NATSServerOp]
        do { ops = try parser.parse(unwrapInboundIn(data)) } catch {
            end(.protocolError(error.description))
            return
        }
        for op in ops { handle(op) }
        context.flush()
    }

    private func handle(_ op: NATSServerOp) {
        switch op {
        case .info(let info):
            let first = self.info == nil
            self.info = info
            guard first, handshake != nil else { return }
            if info.tlsRequired, !address.tls {
                end(.tlsRequired(address.description))
                return
            }
            if address.tls {
                // The server's INFO comes in the clear; TLS starts now, and CONNECT waits in the TLS handler
                // until its handshake is done.
                guard info.tlsRequired else {
                    end(.tls(address.description, reason: "the server does not offer TLS: use a nats:// URL, or start it with --tls"))
                    return
                }
                do {
                    let handler = try tls.makeHandler(host: address.host)
                    try context?.pipeline.syncOperations.addHandler(handler, position: .first)
                } catch {
                    end(.tls(address.description, reason: "\(error)"))
                    return
                }
            }
            var connect = options
            if connect.authToken == nil, connect.user == nil {
                connect.authToken = address.token
                if address.password != nil { connect.user = address.user; connect.pass = address.password }
            }
            connect.headers = info.headers
            connect.noResponders = info.headers
            connect.tlsRequired = address.tls
            if let nkey = connect.nkey {
                guard let nonce = info.nonce else {
                    end(.badCredentials("the server at \(address) sent no nonce to sign: is it configured for nkeys?"))
                    return
                }
                do { connect.sig = try nkey.sign(nonce: nonce) } catch {
                    end(.badCredentials("could not sign the server's nonce: \(error)"))
                    return
                }
                if connect.jwt == nil { connect.nkeyPublic = nkey.publicKey }
            }
            write(.connect(connect))
            write(.ping)
        case .ping:
            write(.pong)
        case .pong:
            if let handshake, let info {
                self.handshake = nil
                handshake.succeed(info)
            } else {
                pongs.popFirst()?.succeed()
            }
        case .ok:
            break
        case .err(let text):
            let lower = text.lowercased()
            // A refused publish or subscription leaves the connection open; everything else closes it.
            if handshake == nil, lower.hasPrefix("permissions violation") || lower.hasPrefix("invalid subject") {
                refusals.append(text)
                if refusals.count > 16 { refusals.removeFirst() }
                return
            }
            end(.server(text))
        case .msg(let message):
            guard let sub = subscriptions[message.sid] else { return }
            sub.continuation.yield(message)
            if sub.gate.produced(bytes: message.payload.readableBytes) {
                full.insert(message.sid)
                if full.count == 1 { _ = context?.channel.setOption(ChannelOptions.autoRead, value: false) }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(ended ?? .closed("the server closed it"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if address.tls, handshake != nil {
            end(.tls(address.description, reason: "\(error)"))
        } else {
            end(.closed("\(error)"))
        }
    }

    // MARK: calls from the connection (on the loop)

    func write(_ op: NATSClientOp) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        op.write(into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    func flushWrites() { context?.flush() }

    /// A new subscription id and its messages, bounded by `limits` (flow control).
    func subscribe(subject: String, queue: String?, limits: NATSPendingLimits) throws(NATSError) -> (Int, NATSMessages) {
        loop.assertInEventLoop()
        if let ended { throw ended }
        let sid = nextSID
        nextSID += 1
        let (stream, continuation) = AsyncStream.makeStream(of: NATSMessage.self)
        let loop = self.loop
        let gate = PendingGate(limits: limits) { [weak self] in
            guard let handler = self else { return }
            loop.execute { handler.opened(sid) }
        }
        continuation.onTermination = { _ in gate.drop() }
        subscriptions[sid] = (continuation, gate)
        write(.sub(subject: subject, queue: queue, sid: sid))
        flushWrites()
        return (sid, NATSMessages(stream: stream, gate: gate))
    }

    /// A subscription's reader caught up: read the socket again when no other holds too much.
    private func opened(_ sid: Int) {
        loop.assertInEventLoop()
        guard full.remove(sid) != nil, full.isEmpty, let channel = context?.channel else { return }
        _ = channel.setOption(ChannelOptions.autoRead, value: true)
        channel.read()
    }

    func unsubscribe(_ sid: Int) {
        loop.assertInEventLoop()
        guard let sub = subscriptions.removeValue(forKey: sid) else { return }
        sub.continuation.finish()
        opened(sid)
        if ended == nil {
            write(.unsub(sid: sid, max: nil))
            flushWrites()
        }
    }

    /// Sends a PING; the future completes at its PONG (everything sent before it was processed).
    func ping() -> EventLoopFuture<Void> {
        loop.assertInEventLoop()
        if let ended { return loop.makeFailedFuture(ended) }
        let promise = loop.makePromise(of: Void.self)
        pongs.append(promise)
        write(.ping)
        flushWrites()
        return promise.futureResult
    }

    /// Ends the connection: every waiter fails with `reason`, every subscription's stream finishes.
    func end(_ reason: NATSError) {
        loop.assertInEventLoop()
        guard ended == nil else { return }
        ended = reason
        handshake?.fail(reason)
        handshake = nil
        while let p = pongs.popFirst() { p.fail(reason) }
        let subs = subscriptions
        subscriptions.removeAll()
        for (_, sub) in subs { sub.continuation.finish() }
        context?.close(promise: nil)
    }
}
