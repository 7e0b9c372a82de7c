import FlowModel
import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import Testing

/// JSON-RPC over a real WebSocket client: calls, and event notifications after `subscribe`.
@Suite(.timeLimit(.minutes(2))) struct WebSocketTests {
    @Test func callsAndEventsOverOneWebSocket() async throws {
        try await withServer(flows: [Repo.examples + "/debug.json"]) { server in
            let url = server.url.replacingOccurrences(of: "http://", with: "ws://") + "/rpc"
            let received = NIOLockedValueBox<[JSONValue]>([])
            @Sendable func request(_ id: Int, _ method: String, _ params: JSONValue) -> String {
                JSONValue.object(["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]).jsonText
            }
            try await WebSocketClient.connect(url: url, logger: Logger(label: "ws-test")) { inbound, outbound, _ in
                var iterator = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                /// Reads until a message satisfies `match`; returns it.
                func next(_ what: String, _ match: (JSONValue) -> Bool) async throws -> JSONValue {
                    while let message = try await iterator.next() {
                        guard case .text(let text) = message else { continue }
                        let json = try JSONValue(parsing: Data(text.utf8))
                        received.withLockedValue { $0.append(json) }
                        if match(json) { return json }
                    }
                    throw TimedOut(description: "the socket closed before \(what)")
                }
                try await outbound.write(.text(request(1, "subscribe", ["flowId": "words", "events": ["debug", "output"]])))
                #expect(try await next("subscribed") { $0["id"] == 1 }["result"] != nil)
                try await outbound.write(.text(request(2, "setBreakPointAtModule", ["flowModuleId": "words/total"])))
                #expect(try await next("breakpoint set") { $0["id"] == 2 }["result"] == true)
                try await outbound.write(.text(request(3, "inject", ["flowModuleId": "words/split", "payload": "Ahoy"])))
                let paused = try await next("paused event") { $0["method"] == "event" && $0["params"]?["type"] == "paused" }
                #expect(paused["params"]?["module"] == "total")
                #expect(paused["params"]?["payload"] == ["word": "ahoy", "score": 6])
                try await outbound.write(.text(request(4, "singleStepFlow", ["flowId": "words"])))
                let step = try await next("step result") { $0["id"] == 4 }
                #expect(step["result"]?["words/total"]?["state"] == ["total": 6])
                #expect(step["result"]?["words/total"]?["outputStates"] == ["out": [["word": "ahoy", "total": 6]]])
                try await outbound.write(.text(request(5, "resumeFlow", ["flowId": "words"])))
                #expect(try await next("resumed") { $0["id"] == 5 }["result"] == true)
                try await outbound.write(.text(request(6, "nosuchMethod", [:])))
                #expect(try await next("an error") { $0["id"] == 6 }["error"]?["code"] == -32601)
                try await outbound.close(.normalClosure, reason: nil)
            }
            let events = received.withLockedValue { $0 }.filter { $0["method"] == "event" }.compactMap { $0["params"]?["type"]?.stringValue }
            #expect(events.contains("paused") && events.contains("stepped") && events.contains("output"), "\(events)")
        }
    }
}
