import ArgumentParser
import FlowModel
import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print flow outputs, module errors, logs and state changes as JSON lines, until Ctrl-C.")

    @OptionGroup var options: ClientOptions
    @Argument(help: "Only this flow's events.") var flowId: String?
    @Option(help: "Event kinds: output, error, log, state, debug, swap (comma-separated; default all).") var events: String?
    @Option(help: "Exit after this many events.") var count: Int?

    func run() async throws {
        try await reportingErrors {
            var url = options.server.replacingOccurrences(of: "http://", with: "ws://").replacingOccurrences(of: "https://", with: "wss://")
            url += url.hasSuffix("/") ? "rpc" : "/rpc"
            if let token = options.token { url += "?token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)" }
            var params: [String: JSONValue] = [:]
            if let flowId { params["flowId"] = .string(flowId) }
            if let events { params["events"] = .array(events.split(separator: ",").map { .string(String($0)) }) }
            let subscribe = JSONValue.object(["jsonrpc": "2.0", "id": .int(1), "method": "subscribe", "params": .object(params)]).jsonText
            let limit = count
            let logger = Logger(label: "flowctl-tail", factory: { _ in SwiftLogNoOpLogHandler() })
            let failure = FailureBox()
            let configuration = WebSocketClientConfiguration(maxFrameSize: 64 << 20)
            let close: WebSocketCloseFrame?
            do {
                close = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                    try await outbound.write(.text(subscribe))
                    var seen = 0
                    for try await message in inbound.messages(maxSize: 64 << 20) {
                        guard case .text(let text) = message, let json = try? JSONValue(parsing: Data(text.utf8)) else { continue }
                        if let error = json["error"] {
                            failure.message = error["message"]?.stringValue ?? error.jsonText
                            return
                        }
                        if json["id"] == .int(1), json["result"] != nil {
                            let what = flowId.map { "flow \"\($0)\"" } ?? "all flows"
                            FileHandle.standardError.write(Data("flowctl: following \(what) (Ctrl-C to stop)\n".utf8))
                            continue
                        }
                        guard json["method"] == "event", json["params"] != nil else { continue }
                        // Print the event as the server sent it (payloads untouched).
                        if let start = text.range(of: "\"params\":") {
                            printJSON(String(text[start.upperBound...].dropLast()))
                        }
                        seen += 1
                        if let limit, seen >= limit {
                            failure.done = true
                            return
                        }
                    }
                }
            } catch {
                throw CLIError("cannot subscribe at \(url): \(error) — is `flowctl serve` running?")
            }
            if let message = failure.message { throw CLIError(message) }
            if !failure.done {
                // The server ended the stream: say why, and fail (a tail that stops is not a success).
                let why = close.map { "code \($0.closeCode)\($0.reason.map { ": \($0)" } ?? "")" } ?? "no close frame"
                throw CLIError("the server closed the event stream at \(url) (\(why)); run `flowctl tail` again to follow on")
            }
        }
    }
}

/// What the socket handler found out (set inside the handler, read after it returned).
/// (Behind a lock: the handler runs on the client's event loop, the reader after it on the caller's task.)
final class FailureBox: Sendable {
    private let state = NIOLockedValueBox<(message: String?, done: Bool)>((nil, false))
    var message: String? {
        get { state.withLockedValue { $0.message } }
        set { state.withLockedValue { $0.message = newValue } }
    }
    /// The requested number of events arrived.
    var done: Bool {
        get { state.withLockedValue { $0.done } }
        set { state.withLockedValue { $0.done = newValue } }
    }
}
