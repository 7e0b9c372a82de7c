import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOPosix

/// Serves the web page (`/` and `/web/…` from the web directory) and the
/// browser runner (`/runtimes/browser/…`, `/runtimes/core/…` from the
/// runtimes directory) to `GET` and `HEAD`. Paths are checked by
/// `StaticPath`; a missing directory or file is a 404. Every response says
/// `nosniff` and `no-cache`; HTML pages get `SecurityHeaders.page`. The
/// checks and the read (blocking file calls) run on NIO's thread pool, not
/// on an event loop or a Swift concurrency thread.
public struct StaticFiles: Sendable {
    public var webDirectory: String
    public var runtimesDirectory: String
    /// A file larger than this is not served (413): the page's files are small.
    public static let maxFileBytes = 4 * 1024 * 1024

    public init(webDirectory: String, runtimesDirectory: String) {
        self.webDirectory = webDirectory
        self.runtimesDirectory = runtimesDirectory
    }

    func directory(of root: StaticRoutes.Root) -> String {
        switch root {
        case .web: webDirectory
        case .runtimesBrowser: runtimesDirectory + "/browser"
        case .runtimesCore: runtimesDirectory + "/core"
        }
    }

    func register(on router: Router<DispatcherRequestContext>) {
        let files = self
        let handler: @Sendable (Request, DispatcherRequestContext) async throws -> Response = { request, _ in
            let (path, host, isHead) = (request.uri.path, request.head.authority, request.method == .head)
            return try await NIOThreadPool.singleton.runIfActive { files.response(path: path, host: host, isHead: isHead) }
        }
        for path in ["/"] + StaticRoutes.prefixes.map({ $0.prefix + "**" }) {
            router.get(RouterPath(path), use: handler)
            router.head(RouterPath(path), use: handler)
        }
    }

    /// The response to a `GET` (or `HEAD`) of `path`.
    func response(path: String, host: String?, isHead: Bool) -> Response {
        guard let (root, rest) = StaticRoutes.route(path) else { return Self.plain(.notFound, "not found") }
        let file: String
        do {
            file = try StaticPath.resolve(rest, under: directory(of: root))
        } catch .badPath {
            return Self.plain(.badRequest, "bad path: use plain names under / (no \"..\", no hidden files, no encoded slashes)")
        } catch {
            switch root {
            case .web where rest == "index.html":
                return Self.plain(.notFound, "the web page is not installed next to this flowctl: set POLYFLOW_WEB to the repository's web/ directory")
            case .runtimesBrowser, .runtimesCore:
                return Self.plain(.notFound, "not found: this server has no such browser runner file (is runtimes/browser/ installed? set POLYFLOW_RUNTIMES)")
            default:
                return Self.plain(.notFound, "not found")
            }
        }
        guard let data = Self.read(file) else {
            return Self.plain(.contentTooLarge, "file too large or unreadable: the server serves files up to \(Self.maxFileBytes / 1024 / 1024) MiB")
        }
        var headers = SecurityHeaders.common
        headers[.contentType] = ContentType.of(file) ?? "application/octet-stream"
        if file.hasSuffix(".html") {
            for (name, value) in SecurityHeaders.page(host: host, runsModules: SecurityHeaders.runsBrowserModules(root: root, rest: rest)) { headers[name] = value }
        }
        headers[.contentLength] = "\(data.count)"
        return Response(status: .ok, headers: headers, body: isHead ? .init() : .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The file's bytes, or nil when it is larger than `maxFileBytes` or cannot be read.
    static func read(_ path: String) -> Data? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maxFileBytes + 1), data.count <= maxFileBytes else { return nil }
        return data
    }

    static func plain(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var headers = SecurityHeaders.common
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}
