import FlowModel
import Foundation
import HummingbirdWebSocket
import NIOCore

/// One WebSocket client of `/rpc`: requests are answered in order; after
/// `subscribe`, events arrive as `{"jsonrpc":"2.0","method":"event","params":{...}}`.
struct WebSocketSession {
    let endpoint: RPCEndpoint
    let hub: EventHub

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var subscription: UInt64?
            defer { if let subscription { hub.cancel(subscription) } }
            for try await message in inbound.messages(maxSize: APIServer.maxRequestBytes) {
                guard case .text(let text) = message else {
                    try await outbound.write(.text(RPCEndpoint.response(id: .null, error: .invalidRequest("send JSON-RPC requests as text frames"))))
                    continue
                }
                let request: RPCEndpoint.Request
                do { request = try RPCEndpoint.parse(Data(text.utf8)) } catch {
                    try await outbound.write(.text(RPCEndpoint.response(id: .null, error: RPCEndpoint.apiError(error))))
                    continue
                }
                let id = request.id ?? .null
                if request.method == "subscribe" {
                    do {
                        let filter = try Self.filter(request.params)
                        if let old = subscription { hub.cancel(old) }
                        let (sub, stream) = hub.subscribe(filter)
                        subscription = sub
                        group.addTask {
                            for await event in stream {
                                try await outbound.write(.text("{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":\(event)}"))
                            }
                        }
                        try await outbound.write(.text(RPCEndpoint.response(id: id, result: .bool(true))))
                    } catch {
                        try await outbound.write(.text(RPCEndpoint.response(id: id, error: RPCEndpoint.apiError(error))))
                    }
                    continue
                }
                if let reply = await endpoint.handle(Data(text.utf8)) {
                    try await outbound.write(.text(reply))
                }
            }
            if let subscription { hub.cancel(subscription) }
            group.cancelAll()
        }
    }

    static func filter(_ json: JSONValue?) throws -> EventHub.Filter {
        let params = try RPCParams(method: "subscribe", json: json)
        var filter = EventHub.Filter()
        if let flow = try params.optionalString("flowId") {
            guard Identifier.isValid(flow) else { throw APIError.invalidParams("subscribe: \"flowId\" \"\(flow)\" is not a flow id") }
            filter.flow = FlowID(flow)
        }
        if let events = params.values["events"], events != .null {
            guard case .array(let items) = events else { throw APIError.invalidParams("subscribe: \"events\" must be an array of event kinds") }
            var kinds = Set<EventKind>()
            for item in items {
                guard let s = item.stringValue, let kind = EventKind(rawValue: s) else {
                    let names = EventKind.allCases.map(\.rawValue)
                    throw APIError.invalidParams("subscribe: unknown event kind \(item.jsonText)\(DidYouMean.hint(for: item.stringValue ?? "", among: names)); kinds: \(names.joined(separator: ", "))")
                }
                kinds.insert(kind)
            }
            filter.kinds = kinds
        }
        return filter
    }
}
