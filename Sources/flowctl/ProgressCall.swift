import FlowModel
import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers

/// Calls one API method while showing the dependency installs it causes:
/// subscribes to `dependencies` events over the WebSocket at `/rpc`, then
/// makes the call over `POST /rpc` (with no short client time limit: an
/// install can take minutes), printing each event on stderr as it comes
/// (`[python3-3f2a…] Collecting requests==2.32.3`). The call goes over HTTP,
/// not over the socket, because the server answers a socket's requests one
/// at a time in its read loop: a call of minutes there would keep it from
/// reading the pongs its keep-alive pings wait for.
struct ProgressCall {
    var options: ClientOptions
    /// Only the installs for this flow (nil: every install).
    var flow: String?
    /// How long the call may take with nothing received.
    var timeout: TimeInterval = 3600

    private enum Item: Sendable {
        case subscribed
        case refused(String)
        case event(JSONValue)
        case reply(Result<JSONValue, CLIError>)
        case drained
        case closed
    }

    func call(_ method: String, _ params: [String: JSONValue]) async throws -> JSONValue {
        var url = options.server.replacingOccurrences(of: "http://", with: "ws://").replacingOccurrences(of: "https://", with: "wss://")
        url += url.hasSuffix("/") ? "rpc" : "/rpc"
        let token = options.token ?? ProcessInfo.processInfo.environment["FLOWCTL_TOKEN"]
        if let token { url += "?token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)" }
        var filter: [String: JSONValue] = ["events": .array(["dependencies"])]
        if let flow { filter["flowId"] = .string(flow) }
        let subscribe = JSONValue.object(["jsonrpc": "2.0", "id": .int(1), "method": "subscribe", "params": .object(filter)]).jsonText
        let client = options.client
        let timeout = self.timeout
        let box = ReplyBox()
        let logger = Logger(label: "flowctl-progress", factory: { _ in SwiftLogNoOpLogHandler() })
        do {
            _ = try await WebSocketClient.connect(url: url, configuration: WebSocketClientConfiguration(maxFrameSize: 64 << 20), logger: logger) { inbound, outbound, _ in
                try await outbound.write(.text(subscribe))
                let (items, sink) = AsyncStream.makeStream(of: Item.self)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await message in inbound.messages(maxSize: 64 << 20) {
                            guard case .text(let text) = message, let json = try? JSONValue(parsing: Data(text.utf8)) else { continue }
                            if json["id"] == .int(1) {
                                sink.yield(json["error"].map { .refused($0["message"]?.stringValue ?? $0.jsonText) } ?? .subscribed)
                            } else if json["method"] == "event", let event = json["params"] {
                                sink.yield(.event(event))
                            }
                        }
                        sink.yield(.closed)
                    }
                    // Builds seen starting whose ok/failed has not arrived yet: the
                    // call's answer may overtake their last events.
                    var unfinished = Set<String>()
                    for await item in items {
                        switch item {
                        case .subscribed:
                            group.addTask {
                                do { sink.yield(.reply(.success(try await client.call(method, params, timeout: timeout)))) } catch {
                                    sink.yield(.reply(.failure(error as? CLIError ?? CLIError("\(error)"))))
                                }
                            }
                            continue
                        case .refused(let message):
                            box.reply = .failure(CLIError(message))
                        case .event(let event):
                            Self.show(event)
                            let env = event["envId"]?.stringValue ?? ""
                            switch event["phase"]?.stringValue {
                            case "started": unfinished.insert(env)
                            case "ok", "failed": unfinished.remove(env)
                            default: break
                            }
                            if box.reply == nil || !unfinished.isEmpty { continue }
                        case .reply(let result):
                            box.reply = result.mapError { $0 as any Error }
                            if !unfinished.isEmpty {
                                group.addTask { try? await Task.sleep(for: .seconds(3)); sink.yield(.drained) }
                                continue
                            }
                        case .drained, .closed:
                            break
                        }
                        break
                    }
                    try? await outbound.close(.normalClosure, reason: nil)
                    group.cancelAll()
                }
            }
        } catch {
            if box.reply == nil { throw CLIError("cannot reach the Polyflow server at \(url): \(error) — is `flowctl serve` running?") }
        }
        guard let reply = box.reply else { throw CLIError("the server at \(url) closed the event stream before \(method) was answered") }
        return try reply.get()
    }

    /// One progress event, as a line on stderr.
    static func show(_ event: JSONValue) {
        let env = event["envId"]?.stringValue ?? "?"
        let text = event["text"]?.stringValue ?? ""
        let line: String
        switch event["phase"]?.stringValue {
        case "started": line = "[\(env)] \(text)"
        case "ok": line = "[\(env)] ok: \(text)"
        case "failed": line = "[\(env)] FAILED: \(text)"
        default: line = "[\(env)]   \(text)"
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// The answer, set inside the socket handler and read after it returned.
/// (Behind a lock: the handler runs on the client's event loop, the reader after it on the caller's task.)
final class ReplyBox: Sendable {
    private let state = NIOLockedValueBox<Result<JSONValue, any Error>?>(nil)
    var reply: Result<JSONValue, any Error>? {
        get { state.withLockedValue { $0 } }
        set { state.withLockedValue { $0 = newValue } }
    }
}
