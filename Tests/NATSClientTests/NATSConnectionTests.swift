import Foundation
import NIOCore
import Testing
@testable import NATSClient

/// The client against a real `nats-server` (Debian's 2.9, which `.ci/run` installs).
@Suite(.timeLimit(.minutes(2)),
       .enabled(if: NATSServerProcess.shouldRun, "nats-server is not installed (Debian: apt-get install nats-server)"))
struct NATSConnectionTests {
    @Test func publishesReachASubscriberInOrderWithHeadersAndReplySubjects() async throws {
        try await withNATSServer { server in
            let a = try await NATSConnection.connect(to: server.address, options: .init(name: "a"))
            let b = try await NATSConnection.connect(to: server.address, options: .init(name: "b"))
            #expect(a.info.headers && !a.info.serverID.isEmpty)
            let sub = try await b.subscribe(to: "flows.>")
            try await b.flush()
            for i in 0..<1000 { try await a.publish(ByteBuffer(string: "\(i)"), to: "flows.x.\(i % 3)") }
            try await a.publish(ByteBuffer(string: "h"), to: "flows.h", replyTo: "back.1",
                                headers: NATSHeaders(fields: [("Nats-Msg-Id", "m1")]))
            var seen: [String] = []
            var last: NATSMessage?
            for await m in sub.messages {
                if m.subject == "flows.h" { last = m; break }
                seen.append(String(buffer: m.payload))
            }
            #expect(seen == (0..<1000).map(String.init), "one publisher's messages arrive in order")
            #expect(last?.replyTo == "back.1")
            #expect(last?.headers?["nats-msg-id"] == "m1")
            await sub.unsubscribe()
            await a.close()
            await b.close()
        }
    }

    @Test func aRequestGetsItsReply_andNoRespondersIsSaidAtOnce() async throws {
        try await withNATSServer { server in
            let service = try await NATSConnection.connect(to: server.address)
            let client = try await NATSConnection.connect(to: server.address)
            let sub = try await service.subscribe(to: "svc.double")
            try await service.flush()
            let responder = Task {
                for await m in sub.messages {
                    let n = Int(String(buffer: m.payload)) ?? 0
                    try await service.publish(ByteBuffer(string: "\(2 * n)"), to: m.replyTo!)
                }
            }
            for n in [1, 21, 500] {
                let reply = try await client.request(ByteBuffer(string: "\(n)"), to: "svc.double")
                #expect(String(buffer: reply.payload) == "\(2 * n)")
            }
            let started = ContinuousClock.now
            await #expect(throws: NATSError.noResponders(subject: "svc.nobody")) {
                _ = try await client.request(ByteBuffer(string: "x"), to: "svc.nobody", timeout: .seconds(10))
            }
            #expect(ContinuousClock.now - started < .seconds(5), "no responders is an answer, not a timeout")
            responder.cancel()
            await client.close()
            await service.close()
        }
    }

    @Test func aTokenIsRequiredWhenTheServerAsksForOne_andAWrongOneIsOneClearError() async throws {
        try await withNATSServer(["--auth", "s3cret"]) { server in
            var good = server.address
            good.user = "s3cret"
            let ok = try await NATSConnection.connect(to: good)
            try await ok.flush()
            await ok.close()
            await #expect {
                _ = try await NATSConnection.connect(to: server.address, options: .init(authToken: "wrong"))
            } throws: { error in
                guard case NATSError.server(let text) = error else { return false }
                return text.lowercased().contains("authorization violation")
            }
        }
    }

    @Test func nothingListeningIsUnreachableAtOnce_andBadInputIsRefusedByName() async throws {
        let port = try NATSServerProcess.freePort()
        await #expect {
            _ = try await NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: port), timeout: .seconds(2))
        } throws: { error in
            guard case NATSError.unreachable = error else { return false }
            return "\(error)".contains("is nats-server running there?")
        }
        try await withNATSServer { server in
            let c = try await NATSConnection.connect(to: server.address)
            await #expect(throws: NATSError.badSubject("a b")) { try await c.publish(ByteBuffer(), to: "a b") }
            await #expect(throws: NATSError.badSubject("a.*")) { try await c.publish(ByteBuffer(), to: "a.*") }
            let big = ByteBuffer(repeating: 0x61, count: c.info.maxPayload + 1)
            await #expect(throws: NATSError.payloadTooLarge(bytes: big.readableBytes, max: c.info.maxPayload)) {
                try await c.publish(big, to: "a")
            }
            try await c.flush()
            await c.close()
        }
    }

    @Test func aPermissionsViolationIsSaidByTheServer_andTheConnectionGoesOn() async throws {
        let config = NSTemporaryDirectory() + "polyflow-perm-\(UUID().uuidString.prefix(8)).conf"
        try """
        authorization { users = [
          { user: runner1, password: pw1, permissions: { publish: ["runner1.>", "_INBOX.runner1.>"], subscribe: ["runner1.>", "_INBOX.runner1.>"] } }
        ] }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        try await withNATSServer(["-c", config]) { server in
            let c = try await NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: server.port, user: "runner1", password: "pw1"))
            let own = try await c.subscribe(to: "runner1.data")
            // Another runner's subjects: the server refuses (with -ERR) and keeps the connection.
            try await c.publish(ByteBuffer(string: "x"), to: "runner2.data")
            let theirs = try await c.subscribe(to: "runner2.data")
            try await c.flush()
            try await c.publish(ByteBuffer(string: "mine"), to: "runner1.data")
            var iterator = own.messages.makeAsyncIterator()
            #expect(await iterator.next().map { String(buffer: $0.payload) } == "mine", "the connection goes on after the refusals")
            let refusals = await c.refusals()
            #expect(refusals.count == 2 && refusals.allSatisfy { $0.contains("Permissions Violation") && $0.contains("runner2.data") }, "\(refusals)")
            await theirs.unsubscribe()
            // Requests with the user's own inbox prefix get their replies; others' inboxes are not its to read.
            var options = NATSConnectOptions(user: "runner1", pass: "pw1")
            options.inboxPrefix = "_INBOX.runner1"
            let requester = try await NATSConnection.connect(to: server.address, options: options)
            let service = try await c.subscribe(to: "runner1.svc")
            try await c.flush()
            let answering = Task { for await m in service.messages { try await c.publish(m.payload, to: m.replyTo!) } }
            let reply = try await requester.request(ByteBuffer(string: "hi"), to: "runner1.svc")
            #expect(String(buffer: reply.payload) == "hi")
            // With the default prefix, its inbox is not its to read: the reply never comes.
            await #expect {
                _ = try await c.request(ByteBuffer(string: "hi"), to: "runner1.svc", timeout: .milliseconds(500))
            } throws: { error in
                guard case NATSError.timedOut = error else { return false }
                return true
            }
            answering.cancel()
            await requester.close()
            await c.close()
            await #expect {
                _ = try await NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: server.port, user: "runner1", password: "nope"))
            } throws: { "\($0)".lowercased().contains("authorization violation") }
        }
    }

    @Test func whenTheServerGoesAwaySubscriptionsEndAndCallsFailWithClosed() async throws {
        let server = try await NATSServerProcess()
        let c = try await NATSConnection.connect(to: server.address)
        let sub = try await c.subscribe(to: "x")
        try await c.flush()
        server.stop()
        for await _ in sub.messages {}
        await #expect(throws: NATSError.self) { try await c.flush() }
        await c.close()
    }
}

/// Slow-consumer flow control: a subscriber that does not read stops its connection from reading,
/// and loses nothing; reading lets it go on.
@Suite(.timeLimit(.minutes(2)),
       .enabled(if: NATSServerProcess.shouldRun, "nats-server is not installed (Debian: apt-get install nats-server)"))
struct NATSFlowControlTests {
    @Test func aSubscriberThatDoesNotReadHoldsUpItsConnection_andLosesNothing() async throws {
        try await withNATSServer { server in
            let reader = try await NATSConnection.connect(to: server.address)
            let writer = try await NATSConnection.connect(to: server.address)
            let sub = try await reader.subscribe(to: "slow", limits: NATSPendingLimits(messages: 100, bytes: 1 << 20))
            try await reader.flush()
            let total = 2000
            // 1 KB each: one read of the socket (at most 64 KiB) holds at most 64 of them.
            let pad = String(repeating: " ", count: 1000)
            for i in 0..<total { try await writer.publish(ByteBuffer(string: "\(i)" + pad), to: "slow") }
            try await writer.flush()
            // Unread: the connection stopped reading once 100 were held (the rest waits in the socket and the server).
            let handler = reader.handlerForTesting
            try await waitUntil("the reader's connection stops reading") {
                try await handler.loop.submit { !handler.full.isEmpty }.get()
            }
            // The limit, plus the rest of the read in which it was crossed.
            #expect(sub.messages.gate.pending.messages <= 100 + 64, "held: \(sub.messages.gate.pending)")
            var seen: [Int] = []
            for await m in sub.messages {
                seen.append(Int(String(buffer: m.payload).trimmingCharacters(in: .whitespaces)) ?? -1)
                if seen.count == total { break }
            }
            #expect(seen == Array(0..<total), "every message, in order, none dropped")
            #expect(try await handler.loop.submit { handler.full.isEmpty }.get())
            await reader.close()
            await writer.close()
        }
    }
}

/// Polls `condition` (an observation, not a sleep-for-synchronisation) until it holds or `timeout` passes.
func waitUntil(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw NATSError.timedOut(what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}
