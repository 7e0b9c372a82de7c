/// The URLs of static files, one list for the router and the access guard:
/// `GET`/`HEAD` of these are the only requests the token does not guard
/// (the page must load to ask for the token). Host and Origin checks apply
/// to them as to everything else.
enum StaticRoutes {
    /// The directory a static URL is served from.
    enum Root: Sendable, Equatable {
        /// `web/`: the page (`/` is its `index.html`).
        case web
        /// `<runtimes>/browser/` and `<runtimes>/core/`: the browser runner and the core it shares with Node.js.
        case runtimesBrowser, runtimesCore
    }

    /// URL prefixes and what they serve, as registered on the router (`prefix` + `**`).
    static let prefixes: [(prefix: String, root: Root)] = [
        ("/web/", .web), ("/runtimes/browser/", .runtimesBrowser), ("/runtimes/core/", .runtimesCore),
    ]

    /// The root and the (still percent-encoded) path under it that `path`
    /// (a URL path without query) names, or nil when it is no static URL.
    static func route(_ path: String) -> (root: Root, rest: String)? {
        if path == "/" { return (.web, "index.html") }
        for (prefix, root) in prefixes where path.hasPrefix(prefix) {
            return (root, String(path.dropFirst(prefix.count)))
        }
        return nil
    }

    /// Whether a request may skip the token: a plain `GET` or `HEAD` (no
    /// WebSocket upgrade) of a static URL.
    static func isStaticRead(method: String, uri: String, isWebSocketUpgrade: Bool) -> Bool {
        guard method == "GET" || method == "HEAD", !isWebSocketUpgrade else { return false }
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        return route(path) != nil
    }
}
