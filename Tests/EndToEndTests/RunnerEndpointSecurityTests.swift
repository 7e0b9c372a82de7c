import FlowModel
import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// `/runners` is an endpoint that runs code: the attacks a page, a stranger
/// or a broken runner could try, each refused without touching the other runners.
@Suite(.timeLimit(.minutes(3))) struct RunnerEndpointSecurityTests {
    static func hello(_ name: String, instance: String = "0123456789abcdef", token: String? = nil) -> String {
        var hello: [String: JSONValue] = ["t": "hello", "protocol": 1, "name": .string(name), "instance": .string(instance),
                                          "runtimes": [["id": "python3", "name": "CPython", "version": "3.11"]], "tags": [], "modules": []]
        if let token { hello["token"] = .string(token) }
        return JSONValue.object(hello).jsonText
    }

    /// Connects to `/runners` as a hand-made runner; `body` gets the first message the dispatcher sent
    /// and the socket; returns the messages read until the dispatcher closed (or `body` returned).
    func fakeRunner(_ server: PolyflowServer, query: String = "", send first: String?,
                    _ body: @escaping @Sendable (JSONValue?, WebSocketOutboundWriter) async throws -> Void = { _, _ in }) async throws -> [String] {
        let url = server.url.replacingOccurrences(of: "http://", with: "ws://") + "/runners" + query
        let seen = NIOLockedValueBox<[String]>([])
        _ = try await WebSocketClient.connect(url: url, logger: Logger(label: "fake-runner")) { inbound, outbound, _ in
            if let first { try await outbound.write(.text(first)) }
            var iterator = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            guard let m = try await iterator.next(), case .text(let text) = m else { return }
            seen.withLockedValue { $0.append(text) }
            try await body(try? JSONValue(parsing: Data(text.utf8)), outbound)
            while let m = try await iterator.next() {
                if case .text(let t) = m { seen.withLockedValue { $0.append(t) } }
            }
        }
        return seen.withLockedValue { $0 }
    }

    @Test func aForeignPageCannotJoinAsARunner() async throws {
        try await withServer { server in
            let raw = RawHTTP(url: server.url)
            let refused = try raw.upgrade("/runners", headers: ["Host: 127.0.0.1:\(raw.port)", "Origin: http://evil.example"])
            #expect(refused.status == 403)
            #expect(try raw.upgrade("/runners", headers: ["Host: evil.example"]).status == 403)
        }
    }

    @Test func aWrongOrMissingTokenCannotJoin() async throws {
        try await withServer(extraArguments: ["--token", "s3cret", "--heartbeat", "5"]) { server in
            let raw = RawHTTP(url: server.url)
            #expect(try raw.upgrade("/runners?token=wrong", headers: ["Host: 127.0.0.1:\(raw.port)"]).status == 401)
            #expect(try raw.upgrade("/runners", headers: ["Host: 127.0.0.1:\(raw.port)", "Authorization: Bearer wrong"]).status == 401)
            let joined = try await fakeRunner(server, query: "?token=s3cret", send: Self.hello("ok-1"))
            #expect(joined.first?.contains("\"t\":\"welcome\"") == true, "\(joined)")
            // No token at the upgrade (a browser cannot set headers): the hello must carry the right one.
            let none = try await fakeRunner(server, send: Self.hello("no-token"))
            #expect(none.first?.contains("\"code\":\"bad-token\"") == true, "\(none)")
            let wrong = try await fakeRunner(server, send: Self.hello("wrong-token", token: "wrong"))
            #expect(wrong.first?.contains("\"code\":\"bad-token\"") == true, "\(wrong)")
            let inHello = try await fakeRunner(server, send: Self.hello("ok-2", instance: "fedcba9876543210", token: "s3cret"))
            #expect(inHello.first?.contains("\"t\":\"welcome\"") == true, "\(inHello)")
        }
    }

    /// The close frame the dispatcher ends a hand-made runner's connection with, after `first`.
    func closeCode(_ server: PolyflowServer, send first: String?) async throws -> String? {
        let url = server.url.replacingOccurrences(of: "http://", with: "ws://") + "/runners"
        let close = try await WebSocketClient.connect(url: url, logger: Logger(label: "fake-runner")) { inbound, outbound, _ in
            if let first { try await outbound.write(.text(first)) }
            for try await _ in inbound.messages(maxSize: 1 << 20) {}
        }
        return close.map { "\($0.closeCode)" }
    }

    @Test func aRefusedRunnerIsClosedWithPolicyViolation() async throws {
        try await withServer(extraArguments: ["--token", "s3cret", "--heartbeat", "5"]) { server in
            let noToken = try await closeCode(server, send: Self.hello("no-token"))
            #expect(noToken == "policyViolation")
            let noHello = try await closeCode(server, send: "{\"t\":\"ping\",\"n\":1}")
            #expect(noHello == "policyViolation")
        }
    }

    @Test func aConnectionWithoutHelloIsClosedAndAGarbageHelloIsRefused() async throws {
        try await withServer { server in
            let started = ContinuousClock.now
            let silent = try await fakeRunner(server, send: nil)
            #expect(silent.first?.contains("\"code\":\"bad-hello\"") == true, "\(silent)")
            #expect(ContinuousClock.now - started < .seconds(30))
            let garbage = try await fakeRunner(server, send: "{\"t\":\"hello\",\"protocol\":1,\"name\":\"../../etc\",\"instance\":\"x\",\"runtimes\":[]}")
            #expect(garbage.first?.contains("\"t\":\"refused\"") == true, "\(garbage)")
            let huge = try await fakeRunner(server, send: Self.hello(String(repeating: "a", count: 100_000)))
            #expect(huge.first?.contains("\"t\":\"refused\"") == true, "\(huge)")
            let old = try await fakeRunner(server, send: Self.hello("v2").replacingOccurrences(of: "\"protocol\":1", with: "\"protocol\":2"))
            #expect(old.first?.contains("\"code\":\"protocol-version\"") == true, "\(old)")
        }
    }

    @Test func aSecondRunnerWithATakenNameIsRefusedAndTheFirstStays() async throws {
        try await withServer(extraArguments: ["--heartbeat", "5"]) { server in
            let first = try await JoinedRunner.start(joining: server, name: "gpu-1")
            defer { Task { await first.stop() } }
            let second = try await fakeRunner(server, send: Self.hello("gpu-1", instance: "ffffffffffffffff"))
            #expect(second.first?.contains("\"code\":\"duplicate-name\"") == true, "\(second)")
            let runners = try await server.rpc("listRunners")["result"]?.arrayValue ?? []
            #expect(runners.first { $0["id"] == "gpu-1" }?["state"] == "live")
            // The real runner process, started twice under one name, says why and exits non-zero.
            let twin = try await JoinedRunner.start(joining: server, name: "gpu-1", waitForWelcome: false)
            #expect(try await twin.process.waitForExit(timeout: .seconds(30)) == 1)
            #expect(twin.process.stderr.joined().contains("already connected"))
            await twin.stop()
            await first.stop()
        }
    }

    @Test func aRunnerThatSpeaksForAnotherIsCutOffAndTheOthersGoOn() async throws {
        // The hand-made runners answer no pings: a long heartbeat, so that on a loaded machine
        // they are lost for what they send, not for silence.
        try await withServer(extraArguments: ["--heartbeat", "5"]) { server in
            let messages = try await fakeRunner(server, send: Self.hello("evil")) { welcome, outbound in
                #expect(welcome?["t"] == "welcome", "\(String(describing: welcome))")
                // A batch claiming to come from the embedded runner.
                try await outbound.write(.binary(ByteBuffer(string: "PF1 local 1 evil 2 1 0 0\n1 f/m.in 2\n{}\n")))
            }
            #expect(messages.first?.contains("welcome") == true)
            try await eventually("evil is lost") {
                try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "evil" }?["state"] == "lost"
            }
            let evil = try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "evil" }
            #expect(evil?["reason"]?.stringValue?.contains("claims to come from local") == true, "\(String(describing: evil))")
            // Unreadable text is a protocol error for that runner only, and says so.
            _ = try await fakeRunner(server, send: Self.hello("noisy")) { _, outbound in
                try await outbound.write(.text("{\"t\":\"launch-missiles\"}"))
            }
            try await eventually("noisy is lost") {
                try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "noisy" }?["state"] == "lost"
            }
            let noisy = try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "noisy" }
            #expect(noisy?["reason"]?.stringValue?.contains("unknown message type \"launch-missiles\"") == true, "\(String(describing: noisy))")
            // Frames sent to the dispatcher's own inject stream end, for a module placed on no runner:
            // the sender hosts nothing that sends there, so it is cut off (RunnerTrust), and the stream is untouched.
            _ = try await fakeRunner(server, send: Self.hello("sly")) { welcome, outbound in
                let session = welcome?["session"]?.intValue ?? 0
                try await outbound.write(.binary(ByteBuffer(string: "PF1 sly \(session) dispatcher 1 1 0 0\n1 f/m.in 2\n{}\n")))
                try await outbound.write(.text("{\"t\":\"ping\",\"n\":1}"))
            }
            try await eventually("sly is lost") {
                try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "sly" }?["state"] == "lost"
            }
            let sly = try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "sly" }
            #expect(sly?["reason"]?.stringValue?.contains("refused a frame for f/m.in") == true, "\(String(describing: sly))")
            let local = try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "local" }
            #expect(local?["state"] == "live")
            #expect(try await server.rpc("listFlows")["result"] != nil, "the dispatcher still serves")
        }
    }

    /// A runner that takes its modules and then stops reading: the dispatcher holds at
    /// most `--runner-outbox-mib` of data batches for it (32 here), then cuts it off (lost, with the reason).
    @Test func aRunnerThatStopsReadingIsCutOffBeforeTheDispatcherHoldsTooMuchForIt() async throws {
        // A long heartbeat: the hand-made runner answers no pings, and is to be lost for its outbox, not its silence.
        try await withServer(extraArguments: ["--heartbeat", "20", "--runner-outbox-mib", "32"]) { server in
            let port = server.url.split(separator: ":").last.map(String.init)!
            let stuck = try ChildProcess("/usr/bin/env", ["python3", Repo.root + "/Tests/Fixtures/stuck_runner.py", port, "stuck", "stuck"])
            defer { Task { await stuck.terminate() } }
            let flow: JSONValue = ["id": "big", "modules": [["id": "slow", "runtime": "python3", "requireTags": ["stuck"],
                                                             "code": "def on_message(msg, ctx):\n    return None\n"]]]
            try await eventually("stuck joined") {
                try await server.rpc("listRunners")["result"]?.arrayValue?.contains { $0["id"] == "stuck" } == true
            }
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": flow])["result"] == true)
            _ = try await stuck.waitForStdout("its deploy") { $0.contains("deployed") }
            // 4 MiB messages for it, 8 at a time, until it is cut off (at most 40 of them: 160 MiB).
            // (Some MiB go into the sockets' buffers before the dispatcher's writes stall.)
            let payload = JSONValue.string(String(repeating: "x", count: 4 << 20))
            func state() async throws -> JSONValue? {
                try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "stuck" }
            }
            var sent = 0
            while sent < 40, try await state()?["state"] != "lost" {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<8 { group.addTask { _ = try await server.rpc("inject", ["flowModuleId": "big/slow", "payload": payload]) } }
                    try await group.waitForAll()
                }
                sent += 8
            }
            try await eventually("stuck is lost", timeout: .seconds(30)) { try await state()?["state"] == "lost" }
            let reason = try await state()?["reason"]?.stringValue ?? ""
            #expect(reason.contains("does not read"), "\(reason)")
            print("stuck runner: cut off after \(sent) messages of 4 MiB: \(reason)")
            // The dispatcher stays up and serves: its own runner is live.
            let local = try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "local" }
            #expect(local?["state"] == "live")
            // Its module now runs nowhere (no other runner has the tag): what was sent to it waits.
            let slow = try await server.status("big")["modules"]?.arrayValue?.first { $0["id"] == "slow" }
            #expect(slow?["state"] == "unplaced", "\(String(describing: slow))")
        }
    }

    /// Issue 20, hole 1: a token key without a usable value is an offered token that does not match.
    @Test func aTokenKeyWithoutTheTokenCannotJoin() async throws {
        try await withServer(extraArguments: ["--token", "s3cret", "--heartbeat", "5"]) { server in
            let raw = RawHTTP(url: server.url)
            for query in ["?token", "?token=%zz", "?token=%", "?a=1&token", "?token="] {
                #expect(try raw.upgrade("/runners" + query, headers: ["Host: 127.0.0.1:\(raw.port)"]).status == 401, "\(query)")
            }
            let reply = try raw.post("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"listRunners\"}",
                                     headers: ["Host: 127.0.0.1:\(raw.port)", "Content-Type: application/json", "Authorization: Bearer s3cret"])
            let runners = try JSONValue(parsing: Data(reply.body.utf8))["result"]?.arrayValue ?? []
            #expect(runners.map { $0["id"] } == ["local"], "\(runners)")
        }
    }

    /// Issue 20, hole 2: a joined runner never takes the embedded runner's place.
    @Test func aRunnerNamedLocalIsRefusedAndTheEmbeddedRunnerStays() async throws {
        try await withServer(flows: [Repo.examples + "/pipeline.json"], extraArguments: ["--heartbeat", "5"]) { server in
            let impostor = try await fakeRunner(server, send: Self.hello("local", instance: "local"))
            #expect(impostor.first?.contains("\"code\":\"bad-hello\"") == true, "\(impostor)")
            #expect(impostor.first?.contains("embedded runner") == true, "\(impostor)")
            let local = try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "local" }
            #expect(local?["state"] == "live")
            #expect(local?["local"] == true)
            _ = try await server.rpc("inject", ["flowModuleId": "pipeline/parse", "payload": ["text": "still here"]])
            try await eventually("the embedded runner still runs pipeline") {
                try await server.status("pipeline")["modules"]?[0]?["messagesIn"] == 1
            }
        }
    }

    /// Issue 20, hole 5: before its welcome a connection gets no more than the hello's bound of buffer.
    @Test func anUnfinishedHugeFrameBeforeTheHelloIsCutOffAtTheHellosBound() async throws {
        try await withServer(extraArguments: ["--heartbeat", "5"]) { server in
            let raw = RawHTTP(url: server.url)
            let fd = try raw.connect()
            defer { close(fd) }
            RawHTTP.send(fd, ["GET /runners HTTP/1.1", "Host: 127.0.0.1:\(raw.port)", "Upgrade: websocket", "Connection: Upgrade",
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "", ""].joined(separator: "\r\n"))
            let (head, _) = RawHTTP.receive(fd) { $0.contains("\r\n\r\n") }
            #expect(head.hasPrefix("HTTP/1.1 101"), "\(head)")
            // A masked text frame announcing 60 MiB, then 1 MiB of it: the server must not wait for the rest.
            var frame: [UInt8] = [0x81, 0xFF]
            withUnsafeBytes(of: UInt64(60 << 20).bigEndian) { frame += $0 }
            frame += [1, 2, 3, 4]
            RawHTTP.send(fd, bytes: frame)
            let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)
            for _ in 0..<16 { RawHTTP.send(fd, bytes: chunk) }
            let (rest, closed) = RawHTTP.receive(fd)
            // Closed (or reset, for what it did not read), not timed out waiting for more.
            var byte: UInt8 = 0
            let n = recv(fd, &byte, 1, 0)
            #expect(closed || n == 0 || (n < 0 && errno == ECONNRESET), "the server closed the connection (recv \(n), errno \(errno))")
            #expect(rest.contains("\"t\":\"refused\""), "\(rest.debugDescription)")
            #expect(rest.contains("before its welcome"), "\(rest.debugDescription)")
            // A hello under the bound with a valid name still joins; one just over it is refused with why.
            let padded = Self.hello("x-" + String(repeating: "a", count: 60)).replacingOccurrences(of: "\"tags\":[]", with: "\"tags\":[], \"pad\":\"\(String(repeating: " ", count: 60_000))\"")
            let ok = try await fakeRunner(server, send: padded)
            #expect(ok.first?.contains("\"t\":\"welcome\"") == true, "\(ok.first?.prefix(300) ?? "")")
            let over = Self.hello("y-1").replacingOccurrences(of: "\"tags\":[]", with: "\"tags\":[], \"pad\":\"\(String(repeating: " ", count: 70_000))\"")
            let refused = try await fakeRunner(server, send: over)
            #expect(refused.first?.contains("\"t\":\"refused\"") == true, "\(refused)")
            #expect(try await server.rpc("listRunners")["result"]?.arrayValue?.contains { $0["id"] == "y-1" } == false)
        }
    }

    /// Issue 20, hole 3: JSON nested past the envelope bound is refused in one pass, with where and why.
    @Test func deepJSONIsRefusedQuicklyWithAClearErrorAndTheServerStaysResponsive() async throws {
        try await withServer(extraArguments: ["--heartbeat", "5"]) { server in
            let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
            let request = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"listFlows\",\"params\":{\"x\":\(deep)}}"
            let batch = "[" + Array(repeating: request, count: 20).joined(separator: ",") + "]"
            let raw = RawHTTP(url: server.url)
            for body in [request, batch] {
                let reply = try raw.post(body, headers: ["Host: 127.0.0.1:\(raw.port)", "Content-Type: application/json"])
                #expect(reply.body.contains("-32700"), "\(reply.body.prefix(300))")
                #expect(reply.body.contains("nested deeper than 64 levels"), "\(reply.body.prefix(300))")
            }
            // A user's value (an injected payload) may nest deeper than an envelope.
            var payload: JSONValue = 1
            for _ in 0..<100 { payload = [payload] }
            _ = try await server.rpc("addOrUpdateFlow", ["flow": ["id": "deep", "modules": [["id": "m", "runtime": "python3",
                "code": "def on_message(msg, ctx):\n    return msg.payload\n"]], "connections": []]])
            #expect(try await server.rpc("inject", ["flowModuleId": "deep/m", "payload": payload])["error"] == nil)
            // A runner's message nested 500 deep (a 10 KB `states`) is its protocol error, and /health answers meanwhile.
            _ = try await fakeRunner(server, send: Self.hello("deep-1")) { _, outbound in
                try await outbound.write(.text("{\"t\":\"states\",\"flow\":\"deep\",\"modules\":\(deep)}"))
            }
            try await eventually("deep-1 is lost") {
                try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "deep-1" }?["state"] == "lost"
            }
            let lost = try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "deep-1" }
            #expect(lost?["reason"]?.stringValue?.contains("nested deeper than 64 levels") == true, "\(String(describing: lost))")
            #expect(try raw.request("GET /health HTTP/1.1\r\nHost: 127.0.0.1:\(raw.port)\r\nConnection: close\r\n\r\n").status == 200)
        }
    }
}
