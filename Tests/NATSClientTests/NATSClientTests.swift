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
        let client = NATSClient(servers: [server.address])
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
        let client = NATSClient(servers: [first.address, second.address])
        try await client.connect()
        #expect(await client.state == .connected(first.address))
        let messages = try await client.subscribe(to: "x")
        first.stop()
        // Made while the client has no connection: it is sent once the second server is reached.
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
}
