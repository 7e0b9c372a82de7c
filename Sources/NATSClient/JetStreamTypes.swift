/// The JetStream API's JSON, for the calls this client makes (docs.nats.io,
/// "JetStream wire API"). Durations are nanoseconds on the wire.
public struct StreamConfig: Codable, Sendable, Equatable {
    public enum Retention: String, Codable, Sendable { case limits, interest, workqueue }
    public enum Storage: String, Codable, Sendable { case file, memory }
    public enum Discard: String, Codable, Sendable { case old, new }

    public var name: String
    public var subjects: [String]
    public var retention: Retention = .limits
    public var storage: Storage = .file
    public var discard: Discard = .old
    public var maxMsgs: Int = -1
    public var maxBytes: Int = -1
    public var maxMsgsPerSubject: Int = -1
    public var maxMsgSize: Int = -1
    public var numReplicas: Int = 1
    /// The window in which a repeated `Nats-Msg-Id` is dropped, in nanoseconds (0: the server's default, 2 min).
    public var duplicateWindow: Int = 0
    public var allowRollupHdrs: Bool = false
    public var denyDelete: Bool = false

    public init(name: String, subjects: [String]) {
        self.name = name
        self.subjects = subjects
    }

    enum CodingKeys: String, CodingKey {
        case name, subjects, retention, storage, discard, maxMsgs = "max_msgs", maxBytes = "max_bytes"
        case maxMsgsPerSubject = "max_msgs_per_subject", maxMsgSize = "max_msg_size", numReplicas = "num_replicas"
        case duplicateWindow = "duplicate_window", allowRollupHdrs = "allow_rollup_hdrs", denyDelete = "deny_delete"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        subjects = try c.decodeIfPresent([String].self, forKey: .subjects) ?? []
        retention = try c.decodeIfPresent(Retention.self, forKey: .retention) ?? .limits
        storage = try c.decodeIfPresent(Storage.self, forKey: .storage) ?? .file
        discard = try c.decodeIfPresent(Discard.self, forKey: .discard) ?? .old
        maxMsgs = try c.decodeIfPresent(Int.self, forKey: .maxMsgs) ?? -1
        maxBytes = try c.decodeIfPresent(Int.self, forKey: .maxBytes) ?? -1
        maxMsgsPerSubject = try c.decodeIfPresent(Int.self, forKey: .maxMsgsPerSubject) ?? -1
        maxMsgSize = try c.decodeIfPresent(Int.self, forKey: .maxMsgSize) ?? -1
        numReplicas = try c.decodeIfPresent(Int.self, forKey: .numReplicas) ?? 1
        duplicateWindow = try c.decodeIfPresent(Int.self, forKey: .duplicateWindow) ?? 0
        allowRollupHdrs = try c.decodeIfPresent(Bool.self, forKey: .allowRollupHdrs) ?? false
        denyDelete = try c.decodeIfPresent(Bool.self, forKey: .denyDelete) ?? false
    }
}

public struct StreamState: Codable, Sendable, Equatable {
    public var messages: Int
    public var bytes: Int
    public var firstSeq: Int
    public var lastSeq: Int

    enum CodingKeys: String, CodingKey { case messages, bytes, firstSeq = "first_seq", lastSeq = "last_seq" }
}

public struct StreamInfo: Decodable, Sendable {
    public var config: StreamConfig
    public var state: StreamState
}

/// A durable pull consumer's configuration (explicit acks).
public struct ConsumerConfig: Codable, Sendable, Equatable {
    public enum DeliverPolicy: String, Codable, Sendable { case all, last, new }
    public var durableName: String
    public var filterSubject: String?
    public var deliverPolicy: DeliverPolicy = .all
    public var ackPolicy = "explicit"
    /// How long a delivered message may go unacknowledged before it is delivered again, in nanoseconds.
    public var ackWait: Int = 30_000_000_000
    /// At most this many delivered and not yet acknowledged (what a consumer is handed, not what is stored).
    public var maxAckPending: Int = 1000
    public var maxDeliver: Int = -1

    public init(durableName: String, filterSubject: String? = nil) {
        self.durableName = durableName
        self.filterSubject = filterSubject
    }

    enum CodingKeys: String, CodingKey {
        case durableName = "durable_name", filterSubject = "filter_subject", deliverPolicy = "deliver_policy"
        case ackPolicy = "ack_policy", ackWait = "ack_wait", maxAckPending = "max_ack_pending", maxDeliver = "max_deliver"
    }
}

public struct ConsumerInfo: Decodable, Sendable {
    public var name: String
    public var config: ConsumerConfig
    public var numPending: Int
    public var numAckPending: Int

    enum CodingKeys: String, CodingKey { case name, config, numPending = "num_pending", numAckPending = "num_ack_pending" }
}

/// The acknowledgement of a publish to a stream: where it was stored.
public struct PubAck: Decodable, Sendable, Equatable {
    public var stream: String
    public var seq: Int
    /// True when the server dropped it as a duplicate of an earlier `Nats-Msg-Id`.
    public var duplicate: Bool?
}

struct APIError: Decodable {
    var code: Int
    var errCode: Int?
    var description: String?
    enum CodingKeys: String, CodingKey { case code, errCode = "err_code", description }
}

struct APIErrorReply: Decodable { var error: APIError? }
