import Foundation
import NIOCore

/// What this client sends to a NATS server (docs.nats.io, "Client Protocol").
public enum NATSClientOp: Sendable {
    case connect(NATSConnectOptions)
    case pub(subject: String, replyTo: String?, payload: ByteBuffer)
    case hpub(subject: String, replyTo: String?, headers: NATSHeaders, payload: ByteBuffer)
    case sub(subject: String, queue: String?, sid: Int)
    case unsub(sid: Int, max: Int?)
    case ping
    case pong

    /// Appends the operation's bytes.
    public func write(into out: inout ByteBuffer) {
        switch self {
        case .connect(let options):
            out.writeString("CONNECT ")
            out.writeBytes((try? JSONEncoder().encode(options)) ?? Data("{}".utf8))
            out.writeString("\r\n")
        case .pub(let subject, let replyTo, var payload):
            out.writeString("PUB \(subject) \(replyTo.map { "\($0) " } ?? "")\(payload.readableBytes)\r\n")
            out.writeBuffer(&payload)
            out.writeString("\r\n")
        case .hpub(let subject, let replyTo, let headers, var payload):
            let head = headers.encoded()
            let headBytes = head.utf8.count
            out.writeString("HPUB \(subject) \(replyTo.map { "\($0) " } ?? "")\(headBytes) \(headBytes + payload.readableBytes)\r\n")
            out.writeString(head)
            out.writeBuffer(&payload)
            out.writeString("\r\n")
        case .sub(let subject, let queue, let sid):
            out.writeString("SUB \(subject) \(queue.map { "\($0) " } ?? "")\(sid)\r\n")
        case .unsub(let sid, let max):
            out.writeString("UNSUB \(sid)\(max.map { " \($0)" } ?? "")\r\n")
        case .ping:
            out.writeString("PING\r\n")
        case .pong:
            out.writeString("PONG\r\n")
        }
    }

    /// Whether `subject` can be sent as one (non-empty, no whitespace; wildcards only when `wildcards`).
    public static func isValid(subject: String, wildcards: Bool) -> Bool {
        guard !subject.isEmpty, !subject.contains(where: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }) else { return false }
        let tokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        for (i, t) in tokens.enumerated() {
            if t.isEmpty { return false }
            if t == "*" || t == ">" {
                guard wildcards else { return false }
                if t == ">" && i != tokens.count - 1 { return false }
            }
        }
        return true
    }
}

/// The `CONNECT` options this client sends.
public struct NATSConnectOptions: Sendable, Encodable, Equatable {
    public var name: String?
    public var authToken: String?
    public var user: String?
    public var pass: String?
    public var verbose = false
    public var pedantic = false
    public var tlsRequired = false
    public var lang = "swift"
    public var version = "0.1.0"
    public var `protocol` = 1
    public var echo = true
    public var headers = true
    public var noResponders = true
    /// An nkey that signs the server's nonce (its public key goes as `nkey`).
    public var nkey: NKey?
    /// A user JWT (from a creds file), sent with the nonce signed by `nkey`.
    public var jwt: String?
    /// Where replies to this client's requests come (`<prefix>.<random>`): a server that confines a
    /// user to its own subjects allows it this prefix (`_INBOX.<user>`, say) and no one else.
    public var inboxPrefix = "_INBOX"
    /// Set at `CONNECT` from `nkey` and the server's nonce.
    var nkeyPublic: String?
    var sig: String?

    public init(name: String? = nil, authToken: String? = nil, user: String? = nil, pass: String? = nil, nkey: NKey? = nil) {
        self.name = name
        self.authToken = authToken
        self.user = user
        self.pass = pass
        self.nkey = nkey
    }

    /// Options for a creds file: its JWT, and its seed to sign with.
    public init(name: String? = nil, credentials: NATSCredentials) {
        self.init(name: name, nkey: credentials.key)
        jwt = credentials.jwt
    }

    enum CodingKeys: String, CodingKey {
        case name, authToken = "auth_token", user, pass, verbose, pedantic, tlsRequired = "tls_required", lang, version
        case `protocol`, echo, headers, noResponders = "no_responders", nkeyPublic = "nkey", sig, jwt
    }

    public static func == (l: Self, r: Self) -> Bool {
        l.name == r.name && l.authToken == r.authToken && l.user == r.user && l.pass == r.pass
            && l.nkey?.publicKey == r.nkey?.publicKey && l.jwt == r.jwt
    }
}
