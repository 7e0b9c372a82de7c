import FlowModel
import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A hand-made runner that speaks the runner protocol as a compromised
/// runner would: it joins, answers the dispatcher's commands with what
/// `answer` makes up (or `ok`), answers pings, and sends whatever the test
/// tells it to, text or binary.
final class LyingRunner: Sendable {
    typealias Answer = @Sendable (_ op: String, _ command: JSONValue) -> JSONValue?

    let name: String
    private let outgoing: AsyncStream<WebSocketOutboundWriter.OutboundFrame>.Continuation
    private let state = NIOLockedValueBox(Seen())
    private let task: Task<Void, any Error>

    struct Seen {
        var welcome: JSONValue?
        var commands: [JSONValue] = []
        var refused: JSONValue?
        var closed = false
        /// The reason in the dispatcher's close frame, if it gave one.
        var closeReason: String?
    }

    var welcome: JSONValue? { state.withLockedValue { $0.welcome } }
    var session: Int { welcome?["session"]?.intValue ?? 0 }
    var commands: [JSONValue] { state.withLockedValue { $0.commands } }
    var closed: Bool { state.withLockedValue { $0.closed } }
    var closeReason: String? { state.withLockedValue { $0.closeReason } }

    /// The hello of a python3 runner with `tags`.
    static func hello(_ name: String, tags: [String] = [], token: String? = nil, instance: String = "0123456789abcdef") -> String {
        var hello: [String: JSONValue] = ["t": "hello", "protocol": 1, "name": .string(name), "instance": .string(instance),
                                          "runtimes": [["id": "python3", "name": "CPython", "version": "3.11"]],
                                          "tags": .array(tags.map { .string($0) }), "modules": []]
        if let token { hello["token"] = .string(token) }
        return JSONValue.object(hello).jsonText
    }

    /// Joins and waits for the welcome.
    static func join(_ server: PolyflowServer, name: String, tags: [String] = [],
                     answer: @escaping Answer = { _, _ in ["kind": "ok"] }) async throws -> LyingRunner {
        let runner = LyingRunner(server: server, name: name, hello: hello(name, tags: tags), answer: answer)
        try await eventually("the welcome of \(name)") { runner.welcome != nil || runner.closed }
        guard runner.welcome != nil else { throw TimedOut(description: "\(name) was not welcomed: \(String(describing: runner.state.withLockedValue { $0.refused }))") }
        return runner
    }

    private init(server: PolyflowServer, name: String, hello: String, answer: @escaping Answer) {
        self.name = name
        let (stream, continuation) = AsyncStream.makeStream(of: WebSocketOutboundWriter.OutboundFrame.self)
        outgoing = continuation
        let state = self.state
        let url = server.url.replacingOccurrences(of: "http://", with: "ws://") + "/runners"
        task = Task {
            defer { state.withLockedValue { $0.closed = true } }
            let close = try await WebSocketClient.connect(url: url, logger: Logger(label: "lying-runner")) { inbound, outbound, _ in
                try await outbound.write(.text(hello))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { for await m in stream { try await outbound.write(m) } }
                    group.addTask {
                        for try await m in inbound.messages(maxSize: 1 << 24) {
                            guard case .text(let text) = m, let json = try? JSONValue(parsing: Data(text.utf8)) else { continue }
                            switch json["t"]?.stringValue {
                            case "welcome": state.withLockedValue { $0.welcome = json }
                            case "refused": state.withLockedValue { $0.refused = json }
                            case "ping": continuation.yield(.text(JSONValue.object(["t": "pong", "n": json["n"] ?? 0]).jsonText))
                            case "command":
                                let command = json["command"] ?? .null
                                state.withLockedValue { $0.commands.append(command) }
                                if let reply = answer(command["op"]?.stringValue ?? "", command) {
                                    continuation.yield(.text(JSONValue.object(["t": "reply", "id": json["id"] ?? 0, "reply": reply]).jsonText))
                                }
                            default: break
                            }
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
            state.withLockedValue { $0.closeReason = close?.reason }
        }
    }

    func send(text: String) { outgoing.yield(.text(text)) }
    func send(_ json: JSONValue) { outgoing.yield(.text(json.jsonText)) }
    func send(binary: String) { outgoing.yield(.binary(ByteBuffer(string: binary))) }

    func stop() {
        outgoing.finish()
        task.cancel()
    }

    /// A module's status as a runner reports it.
    static func moduleStatus(_ id: String, state: JSONValue? = nil, messagesIn: Int = 0) -> JSONValue {
        var o: [String: JSONValue] = ["id": .string(id), "runtime": "python3", "state": "running", "messagesIn": .int(messagesIn),
                                      "messagesOut": 0, "errors": 0, "queued": 0, "recentErrors": [], "recentLogs": [],
                                      "codeHash": "", "swaps": 0]
        if let state { o["moduleState"] = state }
        return .object(o)
    }

    /// A flow's part as a runner reports it.
    static func flowStatus(_ flow: String, modules: [JSONValue], state: String = "running") -> JSONValue {
        ["flow": .string(flow), "state": .string(state), "instances": [], "modules": .array(modules), "breakpoints": []]
    }
}
