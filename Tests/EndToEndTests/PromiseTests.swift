import FlowModel
import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Promises of the API and `flowctl` that no other test checked: the token
/// on HTTP and WebSocket, the refusal to bind beyond loopback without one,
/// and `--expected-revision`.
@Suite(.timeLimit(.minutes(2))) struct PromiseTests {
    /// `POST /rpc` with an optional `Authorization` header: the HTTP status and the body as JSON.
    func post(_ server: PolyflowServer, _ method: String, authorization: String?) async throws -> (Int, JSONValue?) {
        var request = URLRequest(url: URL(string: server.url + "/rpc")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        request.httpBody = Data(#"{"jsonrpc": "2.0", "id": 1, "method": "\#(method)"}"#.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, try? JSONValue(parsing: data))
    }

    /// Opens a WebSocket at `path` and calls `listFlows`; the answer, or nil when the server did not serve it.
    func webSocketCall(_ server: PolyflowServer, path: String) async -> JSONValue? {
        let url = server.url.replacingOccurrences(of: "http://", with: "ws://") + path
        let answer = NIOLockedValueBox<JSONValue?>(nil)
        _ = try? await WebSocketClient.connect(url: url, logger: Logger(label: "ws-token")) { inbound, outbound, _ in
            try await outbound.write(.text(#"{"jsonrpc": "2.0", "id": 7, "method": "listFlows"}"#))
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message, let json = try? JSONValue(parsing: Data(text.utf8)), json["id"] == 7 else { continue }
                answer.withLockedValue { $0 = json }
                break
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
        return answer.withLockedValue { $0 }
    }

    @Test func aTokenServerRefusesAMissingOrWrongTokenOnHTTPAndWebSocket() async throws {
        let server = try await PolyflowServer.start(extraArguments: ["--token", "s3cret"])
        do {
            for authorization in [nil, "Bearer wrong", "Bearer s3cre", "Bearer s3cret2", "s3cret", "Basic s3cret"] {
                let (status, body) = try await post(server, "listFlows", authorization: authorization)
                #expect(status == 401, "\(authorization ?? "no header")")
                #expect(body?["error"]?["code"] == -32004, "\(authorization ?? "no header"): \(String(describing: body))")
                #expect(body?["result"] == nil)
            }
            let (status, body) = try await post(server, "listFlows", authorization: "Bearer s3cret")
            #expect(status == 200)
            #expect(body?["result"] == [])

            let refused = try await runFlowctl(["listFlows"], environment: ["FLOWCTL_SERVER": server.url])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("token"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("\n"), "one line: \(refused.stderr)")
            let wrong = try await runFlowctl(["listFlows", "--token", "nope"], environment: ["FLOWCTL_SERVER": server.url])
            #expect(wrong.status != 0)
            let right = try await runFlowctl(["listFlows", "--token", "s3cret"], environment: ["FLOWCTL_SERVER": server.url])
            #expect(right.status == 0, "\(right.stderr)")
            #expect(right.json == [])

            #expect(await webSocketCall(server, path: "/rpc") == nil, "no token: the WebSocket is not served")
            #expect(await webSocketCall(server, path: "/rpc?token=wrong") == nil, "a wrong token: not served")
            #expect(await webSocketCall(server, path: "/rpc?token=s3cret")?["result"] == [], "the right token: served")
        } catch {
            await server.cleanUp()
            throw error
        }
        await server.cleanUp()
    }

    @Test(arguments: [(["--host", "0.0.0.0"], [:]), (["--host", "0.0.0.0", "--token", ""], [:]),
                      (["--host", "0.0.0.0"], ["FLOWCTL_TOKEN": ""])] as [([String], [String: String])])
    func bindingBeyondLoopbackWithoutATokenIsRefused(arguments: [String], environment: [String: String]) async throws {
        let state = tempDirectory("state")
        let run = tempDirectory("run")
        var env = environment
        env["XDG_RUNTIME_DIR"] = run
        env["POLYFLOW_RUNTIMES"] = Repo.root + "/runtimes"
        if env["FLOWCTL_TOKEN"] == nil { env["FLOWCTL_TOKEN"] = "" }  // not one inherited from the shell either
        let server = try ChildProcess(Repo.flowctl, ["serve", "--port", "0", "--state-dir", state] + arguments, environment: env)
        defer {
            try? FileManager.default.removeItem(atPath: state)
            try? FileManager.default.removeItem(atPath: run)
        }
        let status: Int32
        do {
            status = try await server.waitForExit(timeout: .seconds(30))
        } catch {
            await server.terminate()  // it served: never leave it listening
            throw error
        }
        #expect(status != 0, "\(arguments) \(environment)")
        #expect(server.stderr.joined().contains("--token"), "\(server.stderr)")
        #expect(!server.stdout.joined().contains("listening"))
    }

    @Test func flowctlExpectedRevisionRefusesAStaleUpdateAndChangesNothing() async throws {
        try await withServer { server in
            let dir = tempDirectory("flows")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/rev.json"
            func write(_ label: String) throws {
                let flow: JSONValue = ["id": "rev", "modules": [["id": "m", "runtime": "node", "code": .string("module.exports = () => '\(label)'")]]]
                try flow.jsonText.write(toFile: path, atomically: true, encoding: .utf8)
            }
            func code() async throws -> String? {
                try await server.status("rev")["modules"]?[0]?["codeHash"]?.stringValue
            }
            try write("one")
            // A new flow is at revision 0: expecting another is a conflict too.
            let early = try await server.flowctl("addOrUpdateFlow", path, "--expected-revision", "3")
            #expect(early.status != 0)
            #expect(early.stderr.contains("revision 0, not 3"), "\(early.stderr)")
            #expect(try await server.rpc("getFlow", ["flowId": "rev"])["error"] != nil, "nothing was deployed")
            let first = try await server.flowctl("addOrUpdateFlow", path, "--expected-revision", "0")
            #expect(first.status == 0, "\(first.stderr)")
            #expect(try await server.status("rev")["revision"] == 1)
            let v1 = try await code()

            try write("two")
            let stale = try await server.flowctl("addOrUpdateFlow", path, "--expected-revision", "5")
            #expect(stale.status != 0)
            #expect(stale.stderr.contains("flow \"rev\" is at revision 1, not 5"), "\(stale.stderr)")
            #expect(!stale.stderr.trimmingCharacters(in: .newlines).contains("\n"), "one line: \(stale.stderr)")
            #expect(stale.stdout.isEmpty)
            #expect(try await server.status("rev")["revision"] == 1, "the refused update changed nothing")
            #expect(try await code() == v1)

            let second = try await server.flowctl("addOrUpdateFlow", path, "--expected-revision", "1")
            #expect(second.status == 0, "\(second.stderr)")
            #expect(try await server.status("rev")["revision"] == 2)
            #expect(try await code() != v1)
        }
    }
}
