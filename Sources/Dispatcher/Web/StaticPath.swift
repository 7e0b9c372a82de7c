import Foundation

/// Turns the path of a request into a file under one root directory, or
/// says why not. Hostile input is the norm here: `..` (plain or
/// percent-encoded), absolute paths, backslashes, NUL and control bytes,
/// hidden files, and symbolic links that leave the root are all refused,
/// and only whitelisted types (`ContentType`) are served.
enum StaticPath {
    enum Refusal: Error, Equatable {
        /// The path is malformed or tries to leave the root (a 400 or 404 to the client; no detail is echoed).
        case badPath
        /// No such file, or a type that is not served.
        case notFound
    }

    /// The path segments of `raw` (the part after the route's prefix, still
    /// percent-encoded, without query), each checked.
    static func segments(_ raw: String) throws(Refusal) -> [String] {
        guard raw.utf8.count <= 1024 else { throw .badPath }
        guard let decoded = raw.removingPercentEncoding else { throw .badPath }
        var out: [String] = []
        for segment in decoded.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { continue }
            guard segment != ".", segment != "..", !segment.hasPrefix("."),
                  !segment.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == "\\" || $0 == ":" }) else {
                throw .badPath
            }
            out.append(String(segment))
        }
        return out
    }

    /// The real path of the file `raw` names under `root`, which must be a
    /// regular file inside the root's real path with a served type.
    static func resolve(_ raw: String, under root: String) throws(Refusal) -> String {
        let parts = try segments(raw)
        guard let last = parts.last, ContentType.of(last) != nil else { throw .notFound }
        guard let realRoot = realPath(root) else { throw .notFound }
        guard let real = realPath(realRoot + "/" + parts.joined(separator: "/")) else { throw .notFound }
        guard real.hasPrefix(realRoot + "/") else { throw .badPath }
        var info = stat()
        guard stat(real, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw .notFound }
        // The link's target must be served type too (a link `a.js` → `secret.env`).
        guard ContentType.of(real) != nil else { throw .notFound }
        return real
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
