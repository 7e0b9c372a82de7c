import FlowModel
import Foundation
import HummingbirdWebSocket
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// One WebSocket client of `/rpc`: requests (single or batch) are answered
/// in order; after `subscribe`, events arrive as
/// `{"jsonrpc":"2.0","method":"event","params":{...}}`. The session ends when
/// the client leaves or the server shuts down (a client that stopped reading
/// cannot hold the shutdown: its pending writes are cancelled).
struct WebSocketSession {
    let endpoint: RPCEndpoint
    let hub: EventHub

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        try await cancelWhenGracefulShutdown {
            try await serve(inbound: inbound, outbound: outbound)
        }
    }

    private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let subscription = Subscription()
        defer { if let id = subscription.end() { hub.cancel(id) } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            let hub = self.hub
            for try await message in inbound.messages(maxSize: APIServer.maxRequestBytes) {
                guard case .text(let text) = message else {
                    try await outbound.write(.text(RPCEndpoint.response(id: .null, error: .invalidRequest("send JSON-RPC requests as text frames"))))
                    continue
                }
                let reply = await endpoint.handle(Data(text.utf8)) { request in
                    guard request.method == RPCMethod.subscribe.rawValue else { return nil }
                    let filter = try Self.filter(request.params)
                    let (id, queue) = hub.subscribe(filter)
                    if let old = subscription.replace(id: id, queue: queue) { hub.cancel(old) }
                    return .bool(true)
                }
                if let reply { try await outbound.write(.text(reply)) }
                if let queue = subscription.takeNewQueue() {
                    group.addTask {
                        for await event in queue {
                            try await outbound.write(.text("{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":\(event)}"))
                        }
                    }
                }
            }
            if let id = subscription.end() { hub.cancel(id) }
            group.cancelAll()
        }
    }

    /// The session's current subscription (set from the request handler, read by the loop).
    final class Subscription: Sendable {
        private let box = NIOLockedValueBox<(id: UInt64?, new: EventQueue?)>((nil, nil))

        /// Returns the subscription it replaces.
        func replace(id: UInt64, queue: EventQueue) -> UInt64? {
            box.withLockedValue { b in
                defer { b = (id, queue) }
                return b.id
            }
        }

        func takeNewQueue() -> EventQueue? {
            box.withLockedValue { b in
                defer { b.new = nil }
                return b.new
            }
        }

        func end() -> UInt64? {
            box.withLockedValue { b in
                defer { b = (nil, nil) }
                return b.id
            }
        }
    }

    static func filter(_ json: JSONValue?) throws -> EventHub.Filter {
        let params = try RPCParams(method: RPCMethod.subscribe.rawValue, json: json)
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
                    throw APIError.invalidParams("subscribe: unknown event kind \(item.jsonText.clipped())\(DidYouMean.hint(for: item.stringValue ?? "", among: names)); kinds: \(names.joined(separator: ", "))")
                }
                kinds.insert(kind)
            }
            filter.kinds = kinds
        }
        return filter
    }
}
