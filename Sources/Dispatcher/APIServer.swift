import FlowModel
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// The HTTP side of the dispatcher: JSON-RPC at `POST /rpc`, the same over
/// WebSocket at `/rpc` (plus `subscribe` and its `event` notifications).
public enum APIServer {
    public static let maxRequestBytes = 64 * 1024 * 1024

    public static func makeRouter(endpoint: RPCEndpoint, hub: EventHub, token: String?) -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        if let token { router.add(middleware: TokenMiddleware(token: token)) }
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
        return router
    }
}

/// Requires `Authorization: Bearer TOKEN` (or `?token=TOKEN`, for browsers' WebSockets).
struct TokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let header = request.headers[.authorization]
        let query = request.uri.queryParameters.get("token")
        guard header == "Bearer \(token)" || query == token else {
            return Response(status: .unauthorized, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: RPCEndpoint.response(id: .null, error: APIError(
                                code: -32004, message: "missing or wrong token: pass --token (or FLOWCTL_TOKEN) with the server's token")))))
        }
        return try await next(request, context)
    }
}
