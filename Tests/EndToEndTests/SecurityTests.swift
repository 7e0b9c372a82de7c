import FlowModel
import Foundation
import HummingbirdWSClient
import Logging
import Testing

/// What a page in the user's browser, a rebinding DNS name or a careless
/// client can do to a default server (issue 10): each test is the attack.
@Suite(.timeLimit(.minutes(3))) struct SecurityTests {
    /// The flow an attacker would deploy: it writes `marker` when loaded.
    static func evilFlow(marker: String) -> String {
        let code = "open(\(JSONValue.string(marker).jsonText), \"w\").write(\"x\")\ndef on_message(m, c): pass\n"
        let flow: JSONValue = ["id": "evil", "modules": [["id": "x", "runtime": "python3", "code": .string(code)]]]
        return JSONValue.object(["jsonrpc": "2.0", "id": 1, "method": "addOrUpdateFlow", "params": ["flow": flow]]).jsonText
    }

    static let listFlows = #"{"jsonrpc":"2.0","id":1,"method":"listFlows"}"#

    @Test func aPageOnAnotherOriginCannotDeployCode() async throws {
        try await withServer { server in
            let marker = server.stateDirectory + "/pwned"
            let raw = RawHTTP(url: server.url)
            let host = "Host: 127.0.0.1:\(raw.port)"
            let body = Self.evilFlow(marker: marker)
            // The reported attack: a "simple" cross-origin POST (text/plain, no preflight).
            let simple = try raw.post(body, headers: [host, "Origin: http://evil.example", "Content-Type: text/plain"])
            #expect(simple.status == 403)
            #expect(simple.body.contains("origin-refused"))
            // No Origin, but not JSON either: still refused (a browser form can send text/plain).
            let plain = try raw.post(body, headers: [host, "Content-Type: text/plain"])
            #expect(plain.status == 415)
            #expect(plain.body.contains("application/json"))
            // JSON from a foreign origin (a preflighted fetch that a browser would send only if we allowed it).
            #expect(try raw.post(body, headers: [host, "Origin: http://evil.example", "Content-Type: application/json"]).status == 403)
            #expect(try raw.post(body, headers: [host, "Origin: null", "Content-Type: application/json"]).status == 403)
            #expect(!FileManager.default.fileExists(atPath: marker), "the attacker's code ran")
            #expect(try await server.rpc("listFlows")["result"] == [])
            // The server's own page may.
            let own = try raw.post(Self.listFlows, headers: [host, "Origin: http://127.0.0.1:\(raw.port)", "Content-Type: application/json; charset=utf-8"])
            #expect(own.status == 200)
            #expect(own.body.contains("\"result\":[]"))
        }
    }

    @Test func aRebindingHostNameIsRefused() async throws {
        try await withServer { server in
            let raw = RawHTTP(url: server.url)
            let evil = try raw.post(Self.listFlows, headers: ["Host: evil.example:\(raw.port)", "Content-Type: application/json"])
            #expect(evil.status == 403)
            #expect(evil.body.contains("host-refused"))
            #expect(try raw.request("GET /health HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n").status == 403)
            for name in ["localhost", "127.0.0.1", "[::1]"] {
                #expect(try raw.post(Self.listFlows, headers: ["Host: \(name):\(raw.port)", "Content-Type: application/json"]).status == 200, "\(name)")
            }
        }
    }

    @Test func aForeignOriginCannotOpenTheWebSocket() async throws {
        try await withServer { server in
            let raw = RawHTTP(url: server.url)
            let refused = try raw.upgrade(headers: ["Host: 127.0.0.1:\(raw.port)", "Origin: http://evil.example"])
            #expect(refused.status == 403)
            #expect(refused.body.contains("origin-refused"))
            #expect(try raw.upgrade(headers: ["Host: evil.example", "Origin: http://evil.example"]).status == 403)
            let own = try raw.upgrade(headers: ["Host: 127.0.0.1:\(raw.port)", "Origin: http://127.0.0.1:\(raw.port)"])
            #expect(own.status == 101)
        }
    }

    @Test func allowOriginLetsOneOtherPageIn() async throws {
        try await withServer(extraArguments: ["--allow-origin", "http://localhost:3000"]) { (server: PolyflowServer) async throws in
        let raw = RawHTTP(url: server.url)
        let host = "Host: 127.0.0.1:\(raw.port)"
        #expect(try raw.post(Self.listFlows, headers: [host, "Origin: http://localhost:3000", "Content-Type: application/json"]).status == 200)
        #expect(try raw.post(Self.listFlows, headers: [host, "Origin: http://localhost:3001", "Content-Type: application/json"]).status == 403)
        }
    }

    @Test func theTokenIsComparedAsBytesAndAWebSocketWithoutItGets401() async throws {
        try await withServer(extraArguments: ["--token", "caf\u{e9}"]) { server in
        let raw = RawHTTP(url: server.url)
        let host = "Host: 127.0.0.1:\(raw.port)"
        let json = "Content-Type: application/json"
        #expect(try raw.post(Self.listFlows, headers: [host, json, "Authorization: Bearer caf\u{e9}"]).status == 200)
        // Unicode-equivalent (e + combining accent) but other bytes: refused.
        #expect(try raw.post(Self.listFlows, headers: [host, json, "Authorization: Bearer cafe\u{301}"]).status == 401)
        #expect(try raw.post(Self.listFlows, headers: [host, json, "Authorization: Bearer caf"]).status == 401)
        let ws = try raw.upgrade(headers: [host])
        #expect(ws.status == 401)
        #expect(try JSONValue(parsing: Data(ws.body.utf8))["error"]?["data"]?["code"] == "unauthorized")
        #expect(try raw.upgrade("/rpc?token=caf%C3%A9", headers: [host]).status == 101)
        }
    }

    @Test func halfSentHeadersAreCutOff() async throws {
        try await withServer(extraArguments: ["--header-timeout", "1"]) { server in
        let raw = RawHTTP(url: server.url)
        // Half a request head: closed after the header timeout, not kept forever.
        let slow = try raw.connect(timeout: .seconds(20))
        RawHTTP.send(slow, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let started = ContinuousClock.now
        let (_, closed) = RawHTTP.receive(slow)
        close(slow)
        #expect(closed, "the server closed the half-sent request")
        #expect(ContinuousClock.now - started < .seconds(15))
        }
    }

    @Test func connectionsBeyondTheCapAreRefused() async throws {
        try await withServer(extraArguments: ["--max-connections", "4"]) { server in
        let raw = RawHTTP(url: server.url)
        // Four idle connections fill the server; a fifth is told so (once the
        // server has taken the four in: until then a probe may still fit).
        let idle = try (0..<4).map { _ in try raw.connect() }
        var refused: (status: Int, headers: String, body: String) = (0, "", "")
        try await eventually("a fifth connection refused") {
            refused = try raw.request("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return refused.status == 503
        }
        #expect(refused.body.contains("too-many-connections"))
        for fd in idle { close(fd) }
        try await eventually("a connection is free again") {
            (try? raw.request("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").status) == 200
        }
        }
    }

    @Test func anOpenStateDirectoryIsTightenedAndAnotherUsersIsRefused() async throws {
        let open = tempDirectory("open-state")
        chmod(open, 0o777)
        let server = try await PolyflowServer.start(stateDirectory: open)
        var info = stat()
        stat(open, &info)
        #expect(info.st_mode & 0o777 == 0o700, "mode \(String(info.st_mode & 0o777, radix: 8))")
        await server.cleanUp()

        let theirs = tempDirectory("their-state")
        guard chown(theirs, 65534, 65534) == 0 else { return }  // only when the tests run as root
        let result = try await runFlowctl(["serve", "--port", "0", "--state-dir", theirs])
        #expect(result.status != 0)
        #expect(result.stderr.contains("belongs to uid 65534"), "\(result.stderr)")
        try? FileManager.default.removeItem(atPath: theirs)
    }
}
