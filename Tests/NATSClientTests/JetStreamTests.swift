import Foundation
import NIOCore
import Testing
@testable import NATSClient

/// The JetStream API against a real `nats-server -js` (file storage in a temporary directory).
@Suite(.timeLimit(.minutes(2)),
       .enabled(if: NATSServerProcess.shouldRun, "nats-server is not installed (Debian: apt-get install nats-server)"))
struct JetStreamTests {
    func withJetStream(_ body: (JetStream, NATSServerProcess) async throws -> Void) async throws {
        try await withNATSServer(["-js"]) { server in
            let client = NATSClient(servers: [server.address], policy: .patient)
            try await client.connect()
            do { try await body(JetStream(client: client), server) } catch {
                await client.close()
                throw error
            }
            await client.close()
        }
    }

    @Test func publishesAreAcknowledgedInOrder_andAnExpectedSequenceGuardsTheOrder() async throws {
        try await withJetStream { js, _ in
            var config = StreamConfig(name: "DATA", subjects: ["data.>"])
            config.maxBytes = 1 << 20
            let info = try await js.addStream(config)
            #expect(info.config.name == "DATA" && info.state.messages == 0)
            #expect(try await js.addStream(config).config.subjects == ["data.>"], "adding it again is not an error")
            var other = config
            other.subjects = ["elsewhere.>"]
            await #expect(throws: NATSError.self) { _ = try await js.addStream(other) }
            let a1 = try await js.publish(ByteBuffer(string: "1"), to: "data.a.b", expectedLastSubjectSequence: 0)
            let a2 = try await js.publish(ByteBuffer(string: "2"), to: "data.a.b", expectedLastSubjectSequence: a1.seq)
            #expect(a1.stream == "DATA" && a2.seq == a1.seq + 1)
            // A retry of the first publish, arriving late: refused, it cannot land after the second.
            await #expect {
                _ = try await js.publish(ByteBuffer(string: "1"), to: "data.a.b", expectedLastSubjectSequence: 0)
            } throws: { error in
                guard case NATSError.jetStream(_, _, let errCode, _) = error else { return false }
                return errCode == 10071
            }
            // The same message id twice: stored once.
            let d1 = try await js.publish(ByteBuffer(string: "x"), to: "data.d", messageID: "m-1")
            let d2 = try await js.publish(ByteBuffer(string: "x"), to: "data.d", messageID: "m-1")
            #expect(d2.duplicate == true && d2.seq == d1.seq)
            #expect(try await js.streamInfo("DATA").state.messages == 3)
            await #expect(throws: NATSError.self) { _ = try await js.publish(ByteBuffer(string: "x"), to: "nostream.here") }
        }
    }

    @Test func maxAckPendingBoundsWhatAConsumerIsHanded() async throws {
        try await withJetStream { js, _ in
            _ = try await js.addStream(StreamConfig(name: "Q", subjects: ["q.>"]))
            for i in 0..<10 { _ = try await js.publish(ByteBuffer(string: "\(i)"), to: "q.work") }
            var config = ConsumerConfig(durableName: "worker", filterSubject: "q.work")
            config.maxAckPending = 4
            _ = try await js.addConsumer(stream: "Q", config)
            var got: [[String]] = []
            // Each fetch asks for 10 and waits up to 2 s: with 4 unacknowledged it gets no more than 4.
            let deadline = ContinuousClock.now + .seconds(30)
            while got.joined().count < 10, ContinuousClock.now < deadline {
                let batch = try await js.fetch(stream: "Q", consumer: "worker", batch: 10, expires: .seconds(2))
                #expect(batch.allSatisfy { $0.delivered == 1 })
                if !batch.isEmpty { got.append(batch.map { String(buffer: $0.payload) }) }
                for m in batch { try await m.ackSync() }
            }
            #expect(Array(got.joined()) == (0..<10).map(String.init), "every message once, in order")
            #expect(got.allSatisfy { $0.count <= 4 } && got.contains { $0.count == 4 }, "at most 4 handed out unacknowledged: \(got)")
            #expect(try await js.consumerInfo(stream: "Q", consumer: "worker").numAckPending == 0)
        }
    }

    @Test func withOneUnacknowledgedAtATimeARedeliveryComesBeforeAnythingLater() async throws {
        try await withJetStream { js, _ in
            _ = try await js.addStream(StreamConfig(name: "Q", subjects: ["q.>"]))
            for i in 0..<3 { _ = try await js.publish(ByteBuffer(string: "\(i)"), to: "q.pair") }
            var config = ConsumerConfig(durableName: "pair")
            config.ackWait = 1_000_000_000  // 1 s
            config.maxAckPending = 1
            _ = try await js.addConsumer(stream: "Q", config)
            let first = try await js.fetch(stream: "Q", consumer: "pair", batch: 1, expires: .seconds(5))
            #expect(first.map { String(buffer: $0.payload) } == ["0"] && first.first?.delivered == 1)
            // Not acknowledged: nothing later is handed out; after the ack wait, "0" comes again.
            var again: [JetStreamMessage] = []
            let deadline = ContinuousClock.now + .seconds(30)
            while again.isEmpty, ContinuousClock.now < deadline {
                again = try await js.fetch(stream: "Q", consumer: "pair", batch: 1, expires: .milliseconds(300))
            }
            #expect(again.map { String(buffer: $0.payload) } == ["0"])
            #expect((again.first?.delivered ?? 0) == 2 && again.first?.streamSequence == 1)
            try await again.first?.ackSync()
            let next = try await js.fetch(stream: "Q", consumer: "pair", batch: 1, expires: .seconds(5))
            #expect(next.map { String(buffer: $0.payload) } == ["1"])
        }
    }

    @Test func aBucketKeepsValuesWithRevisions_andACompareAndSetRefusesAStaleOne() async throws {
        try await withJetStream { js, _ in
            let kv = try await KeyValue.open("leases", in: js)
            #expect(try await kv.get("runner-1") == nil)
            let r1 = try await kv.update("runner-1", ByteBuffer(string: "a"), revision: 0)
            let r2 = try await kv.update("runner-1", ByteBuffer(string: "b"), revision: r1)
            #expect(try await kv.get("runner-1") == KeyValue.Entry(key: "runner-1", value: ByteBuffer(string: "b"), revision: r2))
            // Someone who read r1 and writes now loses: the lease moved on.
            await #expect(throws: NATSError.self) { try await kv.update("runner-1", ByteBuffer(string: "stale"), revision: r1) }
            try await kv.put("other", ByteBuffer(string: "x"))
            try await kv.delete("other")
            #expect(try await kv.get("other") == nil)
            await #expect(throws: NATSError.badSubject("a b")) { try await kv.put("a b", ByteBuffer()) }
        }
    }

    @Test func aServerWithoutJetStreamIsOneClearError() async throws {
        try await withNATSServer { server in
            let client = NATSClient(servers: [server.address], policy: .patient)
            try await client.connect()
            await #expect {
                _ = try await JetStream(client: client).addStream(StreamConfig(name: "X", subjects: ["x"]))
            } throws: { error in
                "\(error)".contains("nats-server -js")
            }
            await client.close()
        }
    }
}
