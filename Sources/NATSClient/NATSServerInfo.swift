/// What a NATS server says of itself in `INFO` (the fields this client uses;
/// the rest of the JSON object is ignored).
public struct NATSServerInfo: Sendable, Equatable, Decodable {
    public var serverID: String
    public var version: String
    /// The largest payload the server takes in one message, in bytes.
    public var maxPayload: Int
    public var headers: Bool
    public var jetStream: Bool
    public var authRequired: Bool
    public var tlsRequired: Bool
    /// Other servers of the cluster, as `host:port`.
    public var connectURLs: [String]
    /// The nonce to sign with an nkey, when the server asks for one.
    public var nonce: String?

    enum CodingKeys: String, CodingKey {
        case serverID = "server_id", version, maxPayload = "max_payload", headers, jetStream = "jetstream"
        case authRequired = "auth_required", tlsRequired = "tls_required", connectURLs = "connect_urls", nonce
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        serverID = try c.decodeIfPresent(String.self, forKey: .serverID) ?? ""
        version = try c.decodeIfPresent(String.self, forKey: .version) ?? ""
        maxPayload = try c.decodeIfPresent(Int.self, forKey: .maxPayload) ?? 1_048_576
        headers = try c.decodeIfPresent(Bool.self, forKey: .headers) ?? false
        jetStream = try c.decodeIfPresent(Bool.self, forKey: .jetStream) ?? false
        authRequired = try c.decodeIfPresent(Bool.self, forKey: .authRequired) ?? false
        tlsRequired = try c.decodeIfPresent(Bool.self, forKey: .tlsRequired) ?? false
        connectURLs = try c.decodeIfPresent([String].self, forKey: .connectURLs) ?? []
        nonce = try c.decodeIfPresent(String.self, forKey: .nonce)
    }
}
