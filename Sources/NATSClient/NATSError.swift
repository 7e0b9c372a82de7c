/// Why a NATS call failed, in one line that names the place and, where there is one, the fix.
public enum NATSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL is not `nats://[user:pass@]host[:port]` (or `tls://…`, or `host:port`).
    case badURL(String)
    /// Nothing answered at the address in time, or the connection was refused.
    case unreachable(String, reason: String)
    /// The server said `-ERR` (during the handshake: bad credentials, for example).
    case server(String)
    case protocolError(String)
    /// The connection is closed (by `close()`, the server, or a protocol error).
    case closed(String)
    case timedOut(String)
    /// The connection ended after a request was sent and before its reply: it may or may not have been handled.
    case replyLost(subject: String)
    /// A request found no subscriber on its subject (status 503).
    case noResponders(subject: String)
    case badSubject(String)
    /// The payload is larger than the server's `max_payload`.
    case payloadTooLarge(bytes: Int, max: Int)
    /// The server wants TLS and the URL is not `tls://`.
    case tlsRequired(String)
    /// An nkey seed or creds file that cannot be used (the text says why).
    case badCredentials(String)
    /// TLS could not be set up or its handshake failed (an untrusted certificate, a CA file that cannot be read…).
    case tls(String, reason: String)
    /// A JetStream API call answered with an error (`err_code` is JetStream's own number).
    case jetStream(api: String, code: Int, errCode: Int, description: String)
    /// A JetStream API answer that is not the JSON it should be.
    case badJetStreamReply(api: String, reason: String)

    public var description: String {
        switch self {
        case .badURL(let url): "NATS URL \"\(url)\" is not nats://[user:pass@]host[:port]: write it that way"
        case .unreachable(let address, let reason): "no NATS server answered at \(address) (\(reason)): is nats-server running there?"
        case .server(let text): "the NATS server refused: \(text)"
        case .protocolError(let text): "NATS protocol error: \(text)"
        case .closed(let why): "the NATS connection is closed: \(why)"
        case .timedOut(let what): "NATS: \(what) timed out"
        case .replyLost(let subject): "the NATS connection ended while a request on \(subject) waited for its reply; it may or may not have been handled"
        case .noResponders(let subject): "no one answers requests on NATS subject \(subject)"
        case .badSubject(let subject): "\"\(subject)\" is not a NATS subject (tokens separated by dots, no spaces; wildcards only in subscriptions)"
        case .payloadTooLarge(let bytes, let max): "a NATS message of \(bytes) bytes is larger than the server's max_payload (\(max))"
        case .tlsRequired(let address): "the NATS server at \(address) requires TLS: use a tls:// URL"
        case .badCredentials(let why): "NATS credentials: \(why)"
        case .tls(let address, let reason): "TLS with the NATS server at \(address) failed: \(reason)"
        case .jetStream(let api, let code, let errCode, let description):
            "JetStream \(api): \(description) (\(code), err_code \(errCode))" + (code == 503 ? ": is JetStream enabled (nats-server -js)?" : "")
        case .badJetStreamReply(let api, let reason): "JetStream \(api) answered something unreadable: \(reason)"
        }
    }
}
