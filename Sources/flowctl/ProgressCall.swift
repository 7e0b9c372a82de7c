import FlowModel
import Foundation
import HummingbirdWSClient
import Logging

/// Calls one API method over the WebSocket at `/rpc` after subscribing to
/// `dependencies` events, and shows each install line on stderr as it comes
/// (`[python3-3f2a…] Collecting requests==2.32.3`), then the call's result.
/// Used by the commands that may install packages; a call has no time limit
/// here (an install can take minutes), unlike `POST /rpc`.
struct ProgressCall {
    var options: ClientOptions
    /// Only the installs for this flow (nil: every install).
    var flow: String?

    func call(_ method: String, _ params: [String: JSONValue]) async throws -> JSONValue {
        var url = options.server.replacingOccurrences(of: "http://", with: "ws://").replacingOccurrences(of: "https://", with: "wss://")
        url += url.hasSuffix("/") ? "rpc" : "/rpc"
        let token = options.token ?? ProcessInfo.processInfo.environment["FLOWCTL_TOKEN"]
        if let token { url += "?token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)" }
        var filter: [String: JSONValue] = ["events": .array(["dependencies"])]
        if let flow { filter["flowId"] = .string(flow) }
        let subscribe = JSONValue.object(["jsonrpc": "2.0", "id": .int(1), "method": "subscribe", "params": .object(filter)]).jsonText
        let request = JSONValue.object(["jsonrpc": "2.0", "id": .int(2), "method": .string(method), "params": .object(params)]).jsonText
        let box = ReplyBox()
        let logger = Logger(label: "flowctl-progress", factory: { _ in SwiftLogNoOpLogHandler() })
        do {
            _ = try await WebSocketClient.connect(url: url, configuration: WebSocketClientConfiguration(maxFrameSize: 64 << 20), logger: logger) { inbound, outbound, _ in
                try await outbound.write(.text(subscribe))
                for try await message in inbound.messages(maxSize: 64 << 20) {
                    guard case .text(let text) = message, let json = try? JSONValue(parsing: Data(text.utf8)) else { continue }
                    if json["id"] == .int(1) {
                        if let error = json["error"] { box.reply = .failure(CLIError(error["message"]?.stringValue ?? error.jsonText)); return }
                        try await outbound.write(.text(request))  // subscribed: nothing of the install is missed
                    } else if json["id"] == .int(2) {
                        if let error = json["error"] {
                            box.reply = .failure(CLIError(error["message"]?.stringValue ?? error.jsonText))
                        } else {
                            box.reply = .success(json["result"] ?? .null)
                        }
                        return
                    } else if json["method"] == "event", let event = json["params"] {
                        Self.show(event)
                    }
                }
            }
        } catch {
            throw CLIError("cannot reach the Polyflow server at \(url): \(error) — is `flowctl serve` running?")
        }
        guard let reply = box.reply else { throw CLIError("the server at \(url) closed the connection before answering \(method)") }
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

/// The answer the socket handler received (set inside the handler, read after it returned).
final class ReplyBox: @unchecked Sendable {
    var reply: Result<JSONValue, any Error>?
}
