import FlowModel
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// The HTTP side of the dispatcher: JSON-RPC at `POST /rpc`, the same over
/// WebSocket at `/rpc` (plus `subscribe` and its `event` notifications), and
/// the web page's static files (`StaticFiles`).
/// Every request first passes `RequestGuardHandler` (origin, host, content
/// type, token, time and connection bounds).
public enum APIServer {
    /// The largest request body, and the largest WebSocket message (in or out).
    public static let maxRequestBytes = 64 * 1024 * 1024

    static func makeRouter(endpoint: RPCEndpoint, hub: EventHub, runners: RunnerSession, files: StaticFiles? = nil) -> Router<DispatcherRequestContext> {
        let router = Router(context: DispatcherRequestContext.self)
        files?.register(on: router)
        router.post("rpc") { request, context -> Response in
            let body = try await request.body.collect(upTo: maxRequestBytes)
            let reply = await endpoint.handle(Data(body.readableBytesView))
            guard let reply else { return Response(status: .noContent) }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: reply)))
        }
        router.get("health") { _, _ in "ok\n" }
        router.ws("rpc") { inbound, outbound, _ in
            try await WebSocketSession(endpoint: endpoint, hub: hub).run(inbound: inbound, outbound: outbound)
        }
        // Runners join here (docs/runner-protocol.md); behind the same guard as /rpc.
        // The guard has refused a wrong token at the upgrade; one offered there is the right one.
        // Without one, the hello must carry it (`AccessPolicy.isTokenlessRunnerJoin`).
        router.ws("runners") { inbound, outbound, context in
            let request = context.request
            let tokenAtUpgrade = AccessPolicy.offersToken(uri: request.uri.description, authorization: request.headers[.authorization])
            let channel = context.requestContext.channel
            try await runners.run(inbound: inbound, outbound: outbound, tokenAtUpgrade: tokenAtUpgrade,
                                  welcomed: { HelloBudgetHandler.lift(on: channel) })
        }
        return router
    }

    /// Bounds on what clients may hold or send.
    public struct Limits: Sendable {
        /// Open connections at once (HTTP and WebSocket).
        public var maxConnections = 512
        /// Time to send a request head; time to send the rest of a request.
        public var headerTimeout: Duration = .seconds(10)
        public var requestTimeout: Duration = .seconds(120)
        /// An HTTP connection with no request in progress is closed after this.
        public var idleTimeout: Duration = .seconds(60)
        /// A WebSocket client is pinged this often; one that does not answer is closed.
        public var pingInterval: Duration = .seconds(20)
        /// Events buffered per subscriber.
        public var subscriberEvents = EventQueue.Limits()
        public init() {}
    }

    /// The HTTP/1 + WebSocket server with the access guard in front of every route.
    static func serverBuilder(router: Router<DispatcherRequestContext>, policy: AccessPolicy, limits: Limits) -> HTTPServerBuilder {
        let webSocketResponder = router.buildResponder()
        let limiter = ConnectionLimiter(limit: limits.maxConnections)
        let guardLimits = RequestGuardHandler.Limits(headerTimeout: .init(limits.headerTimeout), requestTimeout: .init(limits.requestTimeout))
        let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(idleTimeout: .init(limits.idleTimeout)),
            ws: .init(maxFrameSize: maxRequestBytes, autoPing: .enabled(timePeriod: limits.pingInterval), closeTimeout: .seconds(5)))
        return HTTPServerBuilder { responder in
            GuardedHTTPChannel(
                inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
                policy: policy, limits: guardLimits, limiter: limiter)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
