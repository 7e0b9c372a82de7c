import Hummingbird

typealias HeaderName = HTTPFields.Element.Name

/// The headers that keep a browser from misreading what the server sends.
enum SecurityHeaders {
    /// On every static response: no type sniffing, revalidate before reuse, no referrer.
    static var common: HTTPFields {
        var h = HTTPFields()
        h[.xContentTypeOptions] = "nosniff"
        h[.cacheControl] = "no-cache"
        h[HeaderName("Referrer-Policy")!] = "no-referrer"
        return h
    }

    /// Whether the HTML page at (root, rest) can run a browser runner, whose
    /// modules arrive as text and need `'unsafe-eval'` (docs/security.md,
    /// "Browser runner pages"): every page of the runner's own directory
    /// (`runner.html`, its examples) and the web page, whose switch makes the
    /// tab a runner. Every other HTML page keeps `script-src 'self'` alone.
    static func runsBrowserModules(root: StaticRoutes.Root, rest: String) -> Bool {
        switch root {
        case .runtimesBrowser: true
        case .web: rest == "index.html"
        case .runtimesCore: false
        }
    }

    /// On HTML pages: scripts, styles and connections only to this server,
    /// no framing (clickjacking of the debugger's buttons), no plugins, no forms elsewhere.
    /// With `runsModules`, `script-src` also has `'unsafe-eval'` (module code is compiled
    /// from text with `new Function`/`eval`), never `'unsafe-inline'`.
    static func page(host: String?, runsModules: Bool = false) -> [(HeaderName, String)] {
        var connect = "'self'"
        // The page's WebSocket: `ws://` + the Host the browser used (the
        // access guard has vetted it); odd bytes fall back to 'self' alone.
        if let host, !host.isEmpty, host.utf8.count <= 255,
           host.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit || ("a"..."z").contains($0) || ("A"..."Z").contains($0)
               || ("0"..."9").contains($0) || ".-:[]".unicodeScalars.contains($0) }) {
            connect += " ws://\(host) wss://\(host)"
        }
        let policy = ["default-src 'none'", runsModules ? "script-src 'self' 'unsafe-eval'" : "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
                      "connect-src \(connect)", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"].joined(separator: "; ")
        return [(HeaderName("Content-Security-Policy")!, policy), (HeaderName("X-Frame-Options")!, "DENY")]
    }
}
