import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// The first stage after the HTTP decoder, in front of every route and the
/// WebSocket upgrade: applies the `AccessPolicy` to each request head, and
/// bounds time and connections.
///
/// - A refused request gets its status with a JSON-RPC error body (also on a
///   WebSocket upgrade, which would otherwise be a bare 400) and the
///   connection is closed.
/// - A client has `headerTimeout` to send a request head (from connecting,
///   or from the end of the previous response) and `requestTimeout` to
///   send the rest of the request; then it is closed. While the server
///   works on a request no timer runs.
/// - Past `ConnectionLimiter.limit` open connections, a new one gets 503.
/// - A head that asks for a WebSocket upgrade and passes removes this
///   handler (the upgrade replaces the HTTP stages).
///
/// Confined to its channel's event loop, as every `ChannelHandler`.
final class RequestGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct Limits: Sendable {
        var headerTimeout: TimeAmount = .seconds(10)
        var requestTimeout: TimeAmount = .seconds(120)
    }

    private let policy: AccessPolicy
    private let limits: Limits
    private let limiter: ConnectionLimiter
    private var refusing = false
    private var acquired = false
    private var timer: Scheduled<Void>?

    init(policy: AccessPolicy, limits: Limits, limiter: ConnectionLimiter) {
        self.policy = policy
        self.limits = limits
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard limiter.acquire() else {
            refuse(context: context, status: .serviceUnavailable, code: "too-many-connections",
                   message: "the server has \(limiter.limit) open connections: close some, or try again later")
            return
        }
        acquired = true
        let limiter = self.limiter
        context.channel.closeFuture.whenComplete { _ in limiter.release() }
        arm(context: context, limits.headerTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refusing else { return }
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            var headers: [String: String] = [:]
            for (name, value) in head.headers {
                let key = name.lowercased()
                if headers[key] == nil { headers[key] = value }
            }
            let request = AccessPolicy.RequestHead(method: head.method.rawValue, uri: head.uri, headers: headers)
            switch policy.check(request) {
            case .allow:
                arm(context: context, limits.requestTimeout)
                context.fireChannelRead(data)
                if request.isWebSocketUpgrade {
                    timer?.cancel()
                    if request.uri == "/runners" || request.uri.hasPrefix("/runners?") {
                        try? context.pipeline.syncOperations.handler(type: HelloBudgetHandler.self).start()
                    }
                    context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                }
            case .refuse(let status, let code, let message):
                refuse(context: context, status: HTTPResponseStatus(statusCode: status), code: code, message: message)
            }
        case .body:
            context.fireChannelRead(data)
        case .end:
            // The request is in: no client timer while the server works on
            // it; the header timeout starts again once the response is sent.
            timer?.cancel()
            timer = nil
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !refusing, case .end = unwrapOutboundIn(data) {
            arm(context: context, limits.headerTimeout)
        }
        context.write(data, promise: promise)
    }

    private func arm(context: ChannelHandlerContext, _ timeout: TimeAmount) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    private func refuse(context: ChannelHandlerContext, status: HTTPResponseStatus, code: String, message: String) {
        refusing = true
        timer?.cancel()
        let body = RPCEndpoint.response(id: .null, error: APIError(code: -32004, message: message, data: .object(["code": .string(code)])))
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Counts the open connections of one server.
final class ConnectionLimiter: Sendable {
    let limit: Int
    private let open = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = limit }

    func acquire() -> Bool {
        open.withLockedValue { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    func release() { open.withLockedValue { $0 -= 1 } }
}
