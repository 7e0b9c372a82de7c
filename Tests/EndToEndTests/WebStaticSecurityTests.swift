import FlowModel
import Foundation
import Testing

/// The static routes of the web page (issue 14) against a real server with a
/// token: each test is an attack on them, or checks that opening them did
/// not open the API.
@Suite(.timeLimit(.minutes(3))) struct WebStaticSecurityTests {
    /// A web directory of its own: the page, a module, a secret beside it,
    /// and a link that leaves the directory.
    static func makeWebDirectory() throws -> String {
        let base = tempDirectory("web")
        let web = base + "/web"
        try FileManager.default.createDirectory(atPath: web + "/js", withIntermediateDirectories: true)
        try "<!doctype html><title>page</title>".write(toFile: web + "/index.html", atomically: true, encoding: .utf8)
        try "export const x = 1;".write(toFile: web + "/js/app.js", atomically: true, encoding: .utf8)
        try "TOKEN=s3cret".write(toFile: web + "/notes.env", atomically: true, encoding: .utf8)
        try "s3cret".write(toFile: base + "/outside.js", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: web + "/leak.js", withDestinationPath: base + "/outside.js")
        try Data(repeating: 0x20, count: 5 * 1024 * 1024).write(to: URL(fileURLWithPath: web + "/huge.js"))
        return base
    }

    static func get(_ raw: RawHTTP, _ path: String, headers: [String] = []) throws -> (status: Int, headers: String, body: String) {
        try raw.request((["GET \(path) HTTP/1.1", "Host: 127.0.0.1:\(raw.port)"] + headers + ["Connection: close", "", ""]).joined(separator: "\r\n"))
    }

    @Test func thePageLoadsWithoutTheTokenAndTheAPIStillNeedsIt() async throws {
        let base = try Self.makeWebDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await withServer(extraArguments: ["--token", "s3cret"], environment: ["POLYFLOW_WEB": base + "/web"]) { server in
            let raw = RawHTTP(url: server.url)
            let page = try Self.get(raw, "/")
            #expect(page.status == 200)
            #expect(page.body.contains("<title>page</title>"))
            let headers = page.headers.lowercased()
            #expect(headers.contains("content-type: text/html; charset=utf-8"))
            #expect(headers.contains("x-content-type-options: nosniff"))
            #expect(headers.contains("cache-control: no-cache"))
            #expect(headers.contains("content-security-policy: default-src 'none'; script-src 'self'"))
            #expect(headers.contains("frame-ancestors 'none'"))
            let js = try Self.get(raw, "/web/js/app.js")
            #expect(js.status == 200)
            #expect(js.headers.lowercased().contains("content-type: text/javascript"))
            let head = try raw.request("HEAD /web/js/app.js HTTP/1.1\r\nHost: 127.0.0.1:\(raw.port)\r\nConnection: close\r\n\r\n")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.headers.lowercased().contains("content-length: 19"))
            let huge = try Self.get(raw, "/web/huge.js")
            #expect(huge.status == 413, "a file past the size bound is not served")
            // Opening the page opened nothing else.
            let rpc = try raw.post(SecurityTests.listFlows, headers: ["Host: 127.0.0.1:\(raw.port)", "Content-Type: application/json"])
            #expect(rpc.status == 401)
            #expect(try raw.upgrade(headers: ["Host: 127.0.0.1:\(raw.port)", "Origin: http://127.0.0.1:\(raw.port)"]).status == 401)
            #expect(try Self.get(raw, "/health").status == 401)
            #expect(try Self.get(raw, "/runtimes/node/polyflow_runtime.js").status == 401, "only the browser runner's files are public")
            #expect(try raw.post(SecurityTests.listFlows, headers: ["Host: 127.0.0.1:\(raw.port)", "Content-Type: application/json",
                                                                    "Authorization: Bearer s3cret"]).status == 200)
        }
    }

    @Test func traversalAndStrayFilesAreRefused() async throws {
        let base = try Self.makeWebDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await withServer(extraArguments: ["--token", "s3cret"], environment: ["POLYFLOW_WEB": base + "/web"]) { server in
            let raw = RawHTTP(url: server.url)
            for path in ["/web/../outside.js", "/web/%2e%2e/outside.js", "/web/..%2foutside.js", "/web/js/%2E%2E/%2E%2E/outside.js",
                         "/web/..%5coutside.js", "/web/leak.js", "/web/index.html%00.js", "/web/.hidden.js",
                         "/runtimes/browser/../node/polyflow_runtime.js", "/runtimes/core/%2e%2e/python3/polyflow_runtime.py",
                         "/web/notes.env", "/web/js", "/web/missing.js",
                         // The token exemption of static reads cannot be walked out of.
                         "/web/../health", "/web/%2e%2e/health", "/runtimes/browser/../../health", "/web/../rpc"] {
                let reply = try Self.get(raw, path)
                #expect(reply.status == 400 || reply.status == 404, "\(path): \(reply.status)")
                #expect(!reply.body.contains("s3cret"), "\(path) leaked the secret")
                #expect(!reply.body.contains("import"), "\(path) served a runtime")
                #expect(reply.body != "ok\n", "\(path) reached /health without the token")
            }
        }
    }

    @Test func aForeignHostOrOriginCannotReadThePage() async throws {
        let base = try Self.makeWebDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await withServer(environment: ["POLYFLOW_WEB": base + "/web"]) { server in
            let raw = RawHTTP(url: server.url)
            let rebound = try raw.request("GET / HTTP/1.1\r\nHost: evil.example:\(raw.port)\r\nConnection: close\r\n\r\n")
            #expect(rebound.status == 403)
            #expect(rebound.body.contains("host-refused"))
            #expect(try Self.get(raw, "/web/js/app.js", headers: ["Origin: http://evil.example"]).status == 403)
            #expect(try Self.get(raw, "/web/js/app.js", headers: ["Origin: http://127.0.0.1:\(raw.port)"]).status == 200)
            // The browser runner's files are public too (404 while it is not installed).
            #expect([200, 404].contains(try Self.get(raw, "/runtimes/browser/polyflow.js").status))
        }
    }
}
