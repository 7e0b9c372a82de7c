import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// The JetStream API over a `NATSClient`: streams, publishes acknowledged by
/// the stream, durable pull consumers with explicit acks.
public struct JetStream: Sendable {
    public let client: NATSClient
    /// How long an API call may take.
    public var timeout: Duration

    public init(client: NATSClient, timeout: Duration = .seconds(5)) {
        self.client = client
        self.timeout = timeout
    }

    // MARK: streams

    /// Creates the stream, or returns it when one of that name exists with the same configuration;
    /// one of that name with another configuration is an error naming it.
    public func addStream(_ config: StreamConfig) async throws -> StreamInfo {
        do {
            return try await api("STREAM.CREATE.\(config.name)", body: config, as: StreamInfo.self)
        } catch NATSError.jetStream(_, _, 10058, _) {
            let info = try await streamInfo(config.name)
            guard info.config.subjects == config.subjects, info.config.retention == config.retention,
                  info.config.maxMsgsPerSubject == config.maxMsgsPerSubject else {
                throw NATSError.jetStream(api: "STREAM.CREATE.\(config.name)", code: 400, errCode: 10058,
                                          description: "stream \(config.name) exists with another configuration (subjects \(info.config.subjects))")
            }
            return info
        }
    }

    public func streamInfo(_ name: String) async throws -> StreamInfo {
        try await api("STREAM.INFO.\(name)", body: Optional<String>.none, as: StreamInfo.self)
    }

    public func deleteStream(_ name: String) async throws {
        _ = try await api("STREAM.DELETE.\(name)", body: Optional<String>.none, as: APIErrorReply.self)
    }

    /// Publishes to a stream's subject and waits for the stream's acknowledgement.
    /// `expectedLastSubjectSequence`: refused (`err_code` 10071) unless the subject's last
    /// message has that sequence (0: none yet), so a retried publish cannot land after a later one.
    public func publish(_ payload: ByteBuffer, to subject: String, messageID: String? = nil,
                        expectedLastSubjectSequence: Int? = nil, headers: NATSHeaders = NATSHeaders()) async throws -> PubAck {
        var headers = headers
        if let messageID { headers.fields.append(("Nats-Msg-Id", messageID)) }
        if let expectedLastSubjectSequence { headers.fields.append(("Nats-Expected-Last-Subject-Sequence", "\(expectedLastSubjectSequence)")) }
        let reply = try await client.request(payload, to: subject, headers: headers.fields.isEmpty ? nil : headers, timeout: timeout)
        return try Self.decode(reply.payload, api: "publish to \(subject)", as: PubAck.self)
    }

    // MARK: consumers

    /// Creates a durable pull consumer (or returns the existing one of that name).
    public func addConsumer(stream: String, _ config: ConsumerConfig) async throws -> ConsumerInfo {
        struct Request: Encodable {
            var stream_name: String
            var config: ConsumerConfig
        }
        return try await api("CONSUMER.DURABLE.CREATE.\(stream).\(config.durableName)",
                             body: Request(stream_name: stream, config: config), as: ConsumerInfo.self)
    }

    public func consumerInfo(stream: String, consumer: String) async throws -> ConsumerInfo {
        try await api("CONSUMER.INFO.\(stream).\(consumer)", body: Optional<String>.none, as: ConsumerInfo.self)
    }

    /// Up to `batch` messages of a pull consumer, waiting at most `expires` for the first ones;
    /// fewer (or none) when no more are there. Each is acknowledged by the caller.
    public func fetch(stream: String, consumer: String, batch: Int, expires: Duration = .seconds(1)) async throws -> [JetStreamMessage] {
        let inbox = client.inboxPrefix + "." + NATSConnection.token()
        let subscription = try await client.subscribe(to: inbox)
        let client = self.client
        defer { Task { await client.unsubscribe(subscription) } }
        let expiresNanos = Int(expires.components.seconds) * 1_000_000_000 + Int(expires.components.attoseconds / 1_000_000_000)
        try await client.publish(ByteBuffer(string: #"{"batch":\#(batch),"expires":\#(expiresNanos)}"#),
                                 to: "$JS.API.CONSUMER.MSG.NEXT.\(stream).\(consumer)", replyTo: inbox)
        // What arrived is kept even when the local deadline ends the wait (the server's 408 came late):
        // a message dropped here would count as delivered and come again only after its ack wait.
        let collected = NIOLockedValueBox<[JetStreamMessage]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await m in subscription.messages {
                    if let status = m.headers?.status {
                        if status == 100 { continue }  // an idle heartbeat
                        return                         // 404 no messages, 408 expired, 409 …: the batch ends
                    }
                    guard let message = JetStreamMessage(m, client: client) else { continue }
                    if collected.withLockedValue({ $0.append(message); return $0.count }) == batch { return }
                }
            }
            group.addTask { try await Task.sleep(for: expires + .seconds(5)) }
            defer { group.cancelAll() }
            try await group.next()
        }
        return collected.withLockedValue { $0 }
    }

    // MARK: the API

    func api<Body: Encodable, Reply: Decodable>(_ name: String, body: Body?, as: Reply.Type) async throws -> Reply {
        let payload = try body.map { ByteBuffer(bytes: try JSONEncoder().encode($0)) } ?? ByteBuffer()
        let reply: NATSMessage
        do {
            reply = try await client.request(payload, to: "$JS.API.\(name)", timeout: timeout)
        } catch NATSError.noResponders {
            throw NATSError.jetStream(api: name, code: 503, errCode: 0, description: "no JetStream on this server")
        }
        return try Self.decode(reply.payload, api: name, as: Reply.self)
    }

    static func decode<Reply: Decodable>(_ payload: ByteBuffer, api: String, as: Reply.Type) throws -> Reply {
        let data = Data(payload.readableBytesView)
        if let failure = try? JSONDecoder().decode(APIErrorReply.self, from: data), let error = failure.error {
            throw NATSError.jetStream(api: api, code: error.code, errCode: error.errCode ?? 0, description: error.description ?? "")
        }
        do { return try JSONDecoder().decode(Reply.self, from: data) } catch {
            throw NATSError.badJetStreamReply(api: api, reason: "\(error)")
        }
    }
}

/// A message from a pull consumer, with what its ack subject says.
public struct JetStreamMessage: Sendable {
    public let subject: String
    public let payload: ByteBuffer
    public let headers: NATSHeaders?
    /// `$JS.ACK.…`: where acknowledgements go.
    public let ackSubject: String
    public let streamSequence: Int
    public let consumerSequence: Int
    /// How many times it was delivered (1: the first time).
    public let delivered: Int
    let client: NATSClient

    init?(_ message: NATSMessage, client: NATSClient) {
        guard let reply = message.replyTo, reply.hasPrefix("$JS.ACK.") else { return nil }
        let tokens = reply.split(separator: ".")
        // v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>; v2 adds a domain and an account hash.
        let base = tokens.count == 9 ? 4 : 6
        guard tokens.count >= base + 5, let d = Int(tokens[base]), let s = Int(tokens[base + 1]), let c = Int(tokens[base + 2]) else { return nil }
        subject = message.subject
        payload = message.payload
        headers = message.headers
        ackSubject = reply
        delivered = d
        streamSequence = s
        consumerSequence = c
        self.client = client
    }

    /// Done: the consumer does not deliver it again.
    public func ack() async throws { try await client.publish(ByteBuffer(string: "+ACK"), to: ackSubject) }
    /// Done, confirmed by the server (the ack is stored before this returns).
    public func ackSync(timeout: Duration = .seconds(5)) async throws {
        _ = try await client.request(ByteBuffer(string: "+ACK"), to: ackSubject, timeout: timeout)
    }
    /// Still being worked on: its ack wait starts again (a long pause, a long handler).
    public func inProgress() async throws { try await client.publish(ByteBuffer(string: "+WPI"), to: ackSubject) }
    /// Not done: deliver it again.
    public func nak() async throws { try await client.publish(ByteBuffer(string: "-NAK"), to: ackSubject) }
    /// Never deliver it again.
    public func term() async throws { try await client.publish(ByteBuffer(string: "+TERM"), to: ackSubject) }
}
