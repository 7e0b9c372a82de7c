import FlowModel
import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// JSON-RPC 2.0 as the specification has it (batches, notifications, error
/// codes), and the bounds on what one request may cost.
@Suite(.timeLimit(.minutes(3))) struct JSONRPCTests {
    func post(_ server: PolyflowServer, _ body: String) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: server.url + "/rpc")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        request.timeoutInterval = 60
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The specification's section 7 batch, with this API's methods.
    static let mixedBatch = """
        [{"jsonrpc":"2.0","method":"listFlows","id":"1"},
         {"jsonrpc":"2.0","method":"listRuntimes"},
         {"jsonrpc":"2.0","method":"getFlow","params":{"flowId":"nope"},"id":"2"},
         {"foo":"boo"},
         {"jsonrpc":"2.0","method":"foo.get","params":{"name":"myself"},"id":"5"},
         {"jsonrpc":"2.0","method":"status","id":"9"}]
        """

    func checkMixedBatch(_ text: String) throws {
        let replies = try #require(try JSONValue(parsing: Data(text.utf8)).arrayValue)
        #expect(replies.count == 5, "the notification gets no answer: \(text)")
        #expect(replies.map { $0["id"] } == ["1", "2", .null, "5", "9"], "answers in order")
        #expect(replies[0]["result"]?.arrayValue != nil)
        #expect(replies[1]["error"]?["code"] == -32000)
        #expect(replies[2]["error"]?["code"] == -32600)
        #expect(replies[3]["error"]?["code"] == -32601)
        #expect(replies[4]["result"]?["runners"] != nil)
    }

    @Test func batchesOverHTTPAreAnsweredAsTheSpecificationSays() async throws {
        try await withServer { server in
            let mixed = try await post(server, Self.mixedBatch)
            #expect(mixed.status == 200)
            try checkMixedBatch(mixed.body)
            // [1,2,3]: three invalid requests.
            let numbers = try JSONValue(parsing: Data(try await post(server, "[1,2,3]").body.utf8))
            #expect(numbers.arrayValue?.map { $0["error"]?["code"] } == [-32600, -32600, -32600])
            // []: one invalid request, not an empty array.
            #expect(try JSONValue(parsing: Data(try await post(server, "[]").body.utf8))["error"]?["code"] == -32600)
            // A batch that is not JSON: one parse error.
            let broken = try await post(server, #"[{"jsonrpc":"2.0","method":"listFlows","id":"1"},{"jsonrpc":"2.0","method""#)
            #expect(try JSONValue(parsing: Data(broken.body.utf8))["error"]?["code"] == -32700)
            // Notifications only: nothing to answer.
            let quiet = try await post(server, #"[{"jsonrpc":"2.0","method":"listFlows"},{"jsonrpc":"2.0","method":"listRuntimes"}]"#)
            #expect(quiet.status == 204)
            #expect(quiet.body.isEmpty)
            let one = try await post(server, #"{"jsonrpc":"2.0","method":"listFlows"}"#)
            #expect(one.status == 204)
        }
    }

    @Test func batchesAndLargeRequestsOverWebSocket() async throws {
        try await withServer { server in
            let url = server.url.replacingOccurrences(of: "http://", with: "ws://") + "/rpc"
            // A flow of over 1 MiB (a big config), deployed over the socket.
            let big = String(repeating: "x", count: 1 << 20)
            let flow: JSONValue = ["id": "big", "modules": [["id": "m", "runtime": "node", "config": ["blob": .string(big)],
                                                              "code": "exports.onMessage = (msg, ctx) => ctx.config.blob.length"]]]
            let deploy = JSONValue.object(["jsonrpc": "2.0", "id": 1, "method": "addOrUpdateFlow", "params": ["flow": flow]]).jsonText
            let replies = NIOLockedValueBox<[String]>([])
            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 4 << 20), logger: Logger(label: "ws-test")) { inbound, outbound, _ in
                var iterator = inbound.messages(maxSize: 4 << 20).makeAsyncIterator()
                func next() async throws -> String {
                    guard case .text(let text)? = try await iterator.next() else { throw TimedOut(description: "the socket closed") }
                    replies.withLockedValue { $0.append(text) }
                    return text
                }
                try await outbound.write(.text(deploy))
                let deployed = try await next()
                #expect(try JSONValue(parsing: Data(deployed.utf8))["result"] == true, "\(deployed.prefix(300))")
                try await outbound.write(.text(Self.mixedBatch))
                try checkMixedBatch(try await next())
                try await outbound.close(.normalClosure, reason: nil)
            }
            #expect(replies.withLockedValue { $0.count } == 2)
        }
    }

    @Test func aHugeMethodNameIsAnsweredAtOnceAndNotEchoedWhole() async throws {
        try await withServer { server in
            let name = String(repeating: "a", count: 10 << 20)
            let started = ContinuousClock.now
            let reply = try await post(server, #"{"jsonrpc":"2.0","id":1,"method":"\#(name)"}"#)
            let took = ContinuousClock.now - started
            let json = try JSONValue(parsing: Data(reply.body.utf8))
            #expect(json["error"]?["code"] == -32601)
            #expect((json["error"]?["message"]?.stringValue?.count ?? .max) < 300)
            // It took 97 s before; parsing 10 MB takes well under a second alone. The bound only catches that
            // regression: a debug build on a 2-core CI machine running every suite at once took 10-12 s.
            #expect(took < .seconds(40), "took \(took)")
            #expect(try await server.rpc("listFlows")["result"] == [])
        }
    }
}
