import Foundation

/// One NATS server to connect to, from a URL: `nats://[user:pass@]host[:port]`,
/// `tls://…` or plain `host[:port]` (port 4222 by default).
public struct NATSServerAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var tls: Bool
    public var user: String?
    public var password: String?
    /// A token given as the URL's user part alone (`nats://TOKEN@host`).
    public var token: String? { password == nil ? user : nil }

    public init(host: String, port: Int = 4222, tls: Bool = false, user: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
        self.user = user
        self.password = password
    }

    public init(parsing text: String) throws(NATSError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let withScheme = trimmed.contains("://") ? trimmed : "nats://" + trimmed
        guard let url = URLComponents(string: withScheme), let scheme = url.scheme?.lowercased(),
              ["nats", "tls"].contains(scheme), let host = url.host, !host.isEmpty,
              url.path.isEmpty || url.path == "/" else { throw .badURL(text) }
        let port = url.port ?? 4222
        guard (1...65535).contains(port) else { throw .badURL(text) }
        self.init(host: host, port: port, tls: scheme == "tls", user: url.user?.removingPercentEncoding,
                  password: url.password?.removingPercentEncoding)
    }

    /// A comma-separated list of URLs (`--nats URL[,URL…]`).
    public static func list(_ text: String) throws(NATSError) -> [NATSServerAddress] {
        var out: [NATSServerAddress] = []
        for part in text.split(separator: ",") { out.append(try NATSServerAddress(parsing: String(part))) }
        guard !out.isEmpty else { throw .badURL(text) }
        return out
    }

    public var description: String { "\(tls ? "tls" : "nats")://\(host):\(port)" }
}
