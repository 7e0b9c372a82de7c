import FlowModel
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Calls the server's JSON-RPC API over `POST /rpc`.
struct RPCClient {
    var server: String
    var token: String?

    /// - Parameter timeout: how long the answer may keep the client waiting
    ///   with nothing received (installs of dependencies take minutes).
    func call(_ method: String, _ params: [String: JSONValue] = [:], timeout: TimeInterval = 120) async throws -> JSONValue {
        guard let url = URL(string: server.hasSuffix("/") ? server + "rpc" : server + "/rpc"), url.scheme?.hasPrefix("http") == true else {
            throw CLIError("--server \"\(server)\" is not an http:// URL (e.g. http://127.0.0.1:7770)")
        }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.httpBody = Data(JSONValue.object(["jsonrpc": "2.0", "id": .int(1), "method": .string(method), "params": .object(params)]).jsonText.utf8)
        request.timeoutInterval = timeout
        let data: Data
        do {
            (data, _) = try await URLSession.shared.data(for: request)
        } catch {
            throw CLIError("cannot reach the Polyflow server at \(server): is `flowctl serve` running? (set --server or FLOWCTL_SERVER)")
        }
        guard let reply = try? JSONValue(parsing: data), case .object(let o) = reply else {
            throw CLIError("the server at \(server) did not answer with JSON-RPC: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        if let error = o["error"] {
            var message = error["message"]?.stringValue ?? error.jsonText
            if let issues = error["data"]?["issues"]?.arrayValue, issues.count > 1 {
                message = "invalid flow:\n" + issues.map { "  \($0["path"]?.stringValue ?? ""): \($0["reason"]?.stringValue ?? "")" }.joined(separator: "\n")
            }
            throw CLIError(message)
        }
        return o["result"] ?? .null
    }
}

extension JSONValue {
    /// Indented JSON with sorted keys, for people.
    var prettyText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("null".utf8), as: UTF8.self)
    }
}
