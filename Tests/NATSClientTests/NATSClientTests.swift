import Foundation
import NIOCore
import Testing
@testable import NATSClient

/// The reconnecting client against real `nats-server`s that stop and come back.
@Suite(.timeLimit(.minutes(2)),
       .enabled(if: NATSServerProcess.shouldRun, "nats-server is not installed (Debian: apt-get install nats-server)"))
struct NATSClientTests {
    /// Waits for `state` among the client's state changes (seen from the moment of the call).
    func wait(for state: NATSClient.State, on client: NATSClient, timeout: Duration = .seconds(20)) async throws {
        let states = client.states
        if await client.state == state { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for await s in states where s == state { return } }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw NATSError.timedOut("waiting for the client to be \(state)")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    @Test func aRestartedServerIsReconnectedTo_andSubscriptionsGoOn() async throws {
        var server = try await NATSServerProcess()
        let port = server.port
        let client = NATSClient(servers: [server.address], policy: .patient)
        try await client.connect()
        let messages = try await client.subscribe(to: "flows.x")
        try await client.publish(ByteBuffer(string: "before"), to: "flows.x")
        var iterator = messages.messages.makeAsyncIterator()
        #expect(await iterator.next().map { String(buffer: $0.payload) } == "before")
        server.stop()
        try await wait(for: .reconnecting, on: client)
        server = try await NATSServerProcess(port: port)
        defer { server.stop() }
        try await wait(for: .connected(server.address), on: client)
        #expect(await client.reconnects == 1)
        // Resubscribed: a message from another connection reaches the old stream.
        let other = try await NATSConnection.connect(to: server.address)
        try await other.publish(ByteBuffer(string: "after"), to: "flows.x")
        #expect(await iterator.next().map { String(buffer: $0.payload) } == "after")
        await other.close()
        await client.close()
    }

    @Test func aPublishWhileReconnectingWaitsForTheConnection_andAListFallsOverToTheNextServer() async throws {
        let first = try await NATSServerProcess()
        let second = try await NATSServerProcess()
        defer { second.stop() }
        let client = NATSClient(servers: [first.address, second.address], policy: .patient)
        try await client.connect()
        #expect(await client.state == .connected(first.address))
        let messages = try await client.subscribe(to: "x")
        first.stop()
        // Made while the client has no connection: it is sent once the second server is reached.
        // (A publish into a connection whose end the client has not seen yet is lost with it: core
        // NATS is at most once, which is why data between runners will go through JetStream.)
        try await waitUntil("the client saw its connection end") { await client.state != .connected(first.address) }
        try await client.publish(ByteBuffer(string: "sent late"), to: "x", timeout: .seconds(20))
        #expect(await client.state == .connected(second.address))
        var iterator = messages.messages.makeAsyncIterator()
        #expect(await iterator.next().map { String(buffer: $0.payload) } == "sent late")
        await client.close()
    }

    @Test func noServerAnsweringIsOneErrorNamingEach_andAWaitForAConnectionEnds() async throws {
        let a = try NATSServerProcess.freePort(), b = try NATSServerProcess.freePort()
        let client = NATSClient(servers: [NATSServerAddress(host: "127.0.0.1", port: a), NATSServerAddress(host: "127.0.0.1", port: b)])
        await #expect {
            try await client.connect()
        } throws: { error in
            "\(error)".contains("127.0.0.1:\(a)") && "\(error)".contains("127.0.0.1:\(b)")
        }
        await #expect(throws: NATSError.self) { try await client.publish(ByteBuffer(), to: "x", timeout: .milliseconds(300)) }
        await client.close()
    }

    @Test func aRequestInFlightWhenTheServerDiesFailsAtOnce_andTheNextOneWorksAfterTheReconnect() async throws {
        var server = try await NATSServerProcess()
        let port = server.port
        let client = NATSClient(servers: [server.address], policy: .patient)
        try await client.connect()
        // A subscriber that never answers: the request waits for its reply.
        let silent = try await NATSConnection.connect(to: server.address)
        let sink = try await silent.subscribe(to: "svc.slow")
        try await silent.flush()
        let request = Task { try await client.request(ByteBuffer(string: "?"), to: "svc.slow", timeout: .seconds(60)) }
        for await _ in sink.messages { break }  // the request reached the server
        let killed = ContinuousClock.now
        server.stop()
        await #expect(throws: NATSError.self) { _ = try await request.value }
        #expect(ContinuousClock.now - killed < .seconds(10), "the request ends with its connection, not at its 60 s timeout")
        server = try await NATSServerProcess(port: port)
        defer { server.stop() }
        try await wait(for: .connected(server.address), on: client)
        let responder = try await NATSConnection.connect(to: server.address)
        let echo = try await responder.subscribe(to: "svc.echo")
        try await responder.flush()
        let answering = Task { for await m in echo.messages { try await responder.publish(m.payload, to: m.replyTo!) } }
        let reply = try await client.request(ByteBuffer(string: "again"), to: "svc.echo")
        #expect(String(buffer: reply.payload) == "again")
        answering.cancel()
        await responder.close()
        await silent.close()
        await client.close()
    }

    @Test func aClientSubscriberThatDoesNotReadHoldsUpTheClient_andLosesNothing() async throws {
        try await withNATSServer { server in
            let client = NATSClient(servers: [server.address], policy: .patient)
            try await client.connect()
            let sub = try await client.subscribe(to: "slow", limits: NATSPendingLimits(messages: 50, bytes: 1 << 20))
            try await client.flush()
            let writer = try await NATSConnection.connect(to: server.address)
            for i in 0..<3000 { try await writer.publish(ByteBuffer(string: "\(i)"), to: "slow") }
            try await writer.flush()
            try await waitUntil("the subscriber's gate is full") { sub.messages.gate.pending.messages > 50 }
            #expect(sub.messages.gate.pending.messages == 51, "the forwarder stops at the limit: \(sub.messages.gate.pending)")
            var seen: [Int] = []
            for await m in sub.messages {
                seen.append(Int(String(buffer: m.payload)) ?? -1)
                if seen.count == 3000 { break }
            }
            #expect(seen == Array(0..<3000))
            await writer.close()
            await client.close()
        }
    }
}
