import FlowModel
import Foundation

/// Who may talk to the server: the rules every HTTP request and WebSocket
/// upgrade passes before any route sees it (`RequestGuardHandler`).
///
/// A flow is code, so the API is code execution; loopback is no wall against
/// the user's own browser. The rules, after Jupyter's `check_origin` /
/// `check_host`:
/// - **Host** (DNS rebinding): on a loopback bind the `Host` header must name
///   a loopback address (`localhost`, `127.x.x.x`, `[::1]`) or a name given
///   with `--allow-host`; on a specific address, that address or an allowed
///   name; on a wildcard bind (`0.0.0.0`, `::`) any host (the token guards).
/// - **Origin** (cross-site requests): a request that carries `Origin` must
///   come from the server's own origin (`http://` + its `Host`) or one given
///   with `--allow-origin`; `Origin: null` is refused (a `ws://` origin
///   naming the server's host, sent by WebSocket libraries, is not a
///   page's and passes, like no `Origin` at all). Requests without
///   `Origin` are not from a page's script (browsers send it on every
///   cross-origin request and every WebSocket).
/// - **Content type**: a `POST` must be `application/json`, so that no page
///   can send a "simple" cross-origin request without a preflight.
/// - **Token**: with a token, `Authorization: Bearer T` or `?token=T` (for a
///   browser's WebSocket), compared as bytes in constant time. The one
///   exemption: a `GET`/`HEAD` of a static file (`StaticRoutes`: `/`,
///   `/web/…`, `/runtimes/browser/…`, `/runtimes/core/…`), so that the page
///   can load and ask for the token. Those files are the same for everyone
///   and run nothing on the server; Host and Origin still apply to them.
public struct AccessPolicy: Sendable {
    public var boundHost: String
    public var token: String?
    /// Extra origins (`scheme://host[:port]`) whose pages may call the API.
    public var allowedOrigins: Set<String>
    /// Extra names the server may be reached by (the `Host` header).
    public var allowedHosts: Set<String>

    public init(boundHost: String, token: String? = nil, allowedOrigins: [String] = [], allowedHosts: [String] = []) {
        self.boundHost = boundHost
        self.token = token
        self.allowedOrigins = Set(allowedOrigins.map { Self.normalizedOrigin($0) })
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
    }

    /// What the guard needs of one request.
    public struct RequestHead: Sendable {
        public var method: String
        public var uri: String
        /// Header values by lowercased name (the first of each).
        public var headers: [String: String]
        public init(method: String, uri: String, headers: [String: String]) {
            self.method = method; self.uri = uri; self.headers = headers
        }
        var isWebSocketUpgrade: Bool { headers["upgrade"]?.lowercased() == "websocket" }
    }

    public enum Verdict: Sendable, Equatable {
        case allow
        /// Refuse with this HTTP status; `code` is stable, `message` a sentence a user can act on.
        case refuse(status: Int, code: String, message: String)
    }

    public func check(_ request: RequestHead) -> Verdict {
        let host = request.headers["host"] ?? ""
        let hostName = Self.hostName(host)
        guard isAllowedHost(hostName) else {
            return .refuse(status: 403, code: "host-refused",
                           message: "Host \"\(host.prefix(100))\" is not a name of this server (DNS rebinding?): use http://127.0.0.1, or start the server with --allow-host NAME")
        }
        if let origin = request.headers["origin"] {
            let normalized = Self.normalizedOrigin(origin)
            let own = ["http://" + host.lowercased(), "https://" + host.lowercased()]
            guard normalized != "null", own.contains(normalized) || allowedOrigins.contains(normalized)
                    || Self.isNonBrowserOrigin(normalized, hostName: hostName) else {
                return .refuse(status: 403, code: "origin-refused",
                               message: "Origin \"\(origin.prefix(100))\" may not use this server: only its own pages may, or start the server with --allow-origin \(origin.prefix(100))")
            }
        }
        if request.method == "POST" {
            let type = request.headers["content-type"]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            guard type == "application/json" else {
                return .refuse(status: 415, code: "content-type-refused",
                               message: "POST needs \"Content-Type: application/json\" (got \(type.map { "\"\($0.prefix(100))\"" } ?? "none"))")
            }
        }
        if let token, !presentsToken(token, request),
           !StaticRoutes.isStaticRead(method: request.method, uri: request.uri, isWebSocketUpgrade: request.isWebSocketUpgrade),
           !Self.isTokenlessRunnerJoin(request) {
            return .refuse(status: 401, code: "unauthorized",
                           message: "missing or wrong token: pass --token (or FLOWCTL_TOKEN) with the server's token")
        }
        return .allow
    }

    /// A WebSocket upgrade at `/runners` that offers no token at all (no
    /// `Authorization` header, no `token` key in the query in any form): a
    /// browser runner, which cannot set headers, gives its token in the
    /// `hello` instead, and `RunnerAdmission` refuses a hello without the
    /// right one (`bad-token`) before the connection is anybody
    /// (docs/runner-protocol.md, "The connection"). A token offered at the
    /// upgrade that is wrong, empty or unreadable (`?token`, `?token=%zz`) is
    /// refused here (401).
    static func isTokenlessRunnerJoin(_ request: RequestHead) -> Bool {
        guard request.method == "GET", request.isWebSocketUpgrade else { return false }
        let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? request.uri
        return path == "/runners" && !offersToken(uri: request.uri, authorization: request.headers["authorization"])
    }

    /// Whether a request offers a token at all: an `Authorization` header, or
    /// any `token` key in its query. The guard and the `/runners` route both
    /// ask this (one parser): a request that offers one has passed the guard
    /// only if it matched.
    public static func offersToken(uri: String, authorization: String?) -> Bool {
        authorization != nil || !queryValues("token", in: uri).isEmpty
    }

    func isAllowedHost(_ name: String) -> Bool {
        if allowedHosts.contains(name) { return true }
        let bound = boundHost.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if bound == "0.0.0.0" || bound == "::" || bound == "*" { return true }
        if DispatcherConfiguration.isLoopback(bound) { return Self.isLoopbackName(name) }
        return name == bound
    }

    /// `ws://HOST[:port]` or `wss://…` naming the server's host: what
    /// WebSocket client libraries (swift-websocket, Python's `websockets`)
    /// send. No browser sends a `ws:` origin (a page's origin is `http(s):`),
    /// so it grants nothing a client without `Origin` does not have.
    static func isNonBrowserOrigin(_ origin: String, hostName: String) -> Bool {
        for scheme in ["ws://", "wss://"] where origin.hasPrefix(scheme) {
            return Self.hostName(String(origin.dropFirst(scheme.count))) == hostName
        }
        return false
    }

    static func isLoopbackName(_ name: String) -> Bool {
        if name == "localhost" || name == "::1" { return true }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// The host name of a `Host` header value, lowercased, without port or brackets.
    static func hostName(_ header: String) -> String {
        let h = header.lowercased().trimmingCharacters(in: .whitespaces)
        if h.hasPrefix("["), let close = h.firstIndex(of: "]") { return String(h[h.index(after: h.startIndex)..<close]) }
        if let colon = h.lastIndex(of: ":"), h.firstIndex(of: ":") == colon { return String(h[..<colon]) }
        return h
    }

    static func normalizedOrigin(_ origin: String) -> String {
        var o = origin.lowercased().trimmingCharacters(in: .whitespaces)
        while o.hasSuffix("/") { o.removeLast() }
        return o
    }

    /// The right token in the `Authorization` header or the query. With
    /// several `token` keys, every one must match; an unreadable one
    /// (bad percent-encoding) matches nothing.
    private func presentsToken(_ token: String, _ request: RequestHead) -> Bool {
        if let header = request.headers["authorization"], header.hasPrefix("Bearer "),
           Self.constantTimeEqual(Array(header.utf8.dropFirst(7)), Array(token.utf8)) {
            return true
        }
        let offered = Self.queryValues("token", in: request.uri)
        return !offered.isEmpty && offered.allSatisfy { value in
            value.map { Self.constantTimeEqual(Array($0.utf8), Array(token.utf8)) } ?? false
        }
    }

    /// Compares bytes (not Unicode-equivalent strings) in time that depends only on the lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }

    /// Every value of `name` in the URI's query, percent-decoded: `nil` for
    /// one that cannot be decoded, `""` for a key without `=`. Keys are
    /// compared after decoding (`%74oken` is `token`).
    static func queryValues(_ name: String, in uri: String) -> [String?] {
        guard let q = uri.firstIndex(of: "?") else { return [] }
        var values: [String?] = []
        let query = uri[uri.index(after: q)...].split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let rawKey = String(kv[0]).replacingOccurrences(of: "+", with: " ")
            guard rawKey == name || rawKey.removingPercentEncoding == name else { continue }
            values.append(kv.count == 2 ? String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding : "")
        }
        return values
    }
}
