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

    /// On HTML pages: scripts, styles and connections only to this server,
    /// no framing (clickjacking of the debugger's buttons), no plugins, no forms elsewhere.
    static func page(host: String?) -> [(HeaderName, String)] {
        var connect = "'self'"
        // The page's WebSocket: `ws://` + the Host the browser used (the
        // access guard has vetted it); odd bytes fall back to 'self' alone.
        if let host, !host.isEmpty, host.utf8.count <= 255,
           host.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit || ("a"..."z").contains($0) || ("A"..."Z").contains($0)
               || ("0"..."9").contains($0) || ".-:[]".unicodeScalars.contains($0) }) {
            connect += " ws://\(host) wss://\(host)"
        }
        let policy = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
                      "connect-src \(connect)", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"].joined(separator: "; ")
        return [(HeaderName("Content-Security-Policy")!, policy), (HeaderName("X-Frame-Options")!, "DENY")]
    }
}
