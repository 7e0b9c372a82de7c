import Foundation
import RunnerProtocol
import Testing
@testable import Dispatcher

/// `StaticPath` against the paths an attacker sends, on a real directory with links.
@Suite struct StaticPathTests {
    /// A root with `index.html`, `js/app.js`, a secret of an unserved type, and links in and out.
    static func makeRoot() throws -> (root: String, outside: String) {
        let base = NSTemporaryDirectory() + "polyflow-static-\(UUID().uuidString.prefix(8))"
        let root = base + "/web"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/js", withIntermediateDirectories: true)
        try "<!doctype html>".write(toFile: root + "/index.html", atomically: true, encoding: .utf8)
        try "export {}".write(toFile: root + "/js/app.js", atomically: true, encoding: .utf8)
        try "TOKEN=x".write(toFile: root + "/secret.env", atomically: true, encoding: .utf8)
        try "outside".write(toFile: base + "/outside.js", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: root + "/escape.js", withDestinationPath: base + "/outside.js")
        try fm.createSymbolicLink(atPath: root + "/dir", withDestinationPath: base)
        try fm.createSymbolicLink(atPath: root + "/alias.js", withDestinationPath: root + "/js/app.js")
        try fm.createSymbolicLink(atPath: root + "/disguised.js", withDestinationPath: root + "/secret.env")
        return (root, base)
    }

    @Test func servesFilesOfWhitelistedTypesInsideTheRoot() throws {
        let (root, base) = try Self.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: base) }
        #expect(try StaticPath.resolve("index.html", under: root).hasSuffix("/web/index.html"))
        #expect(try StaticPath.resolve("js/app.js", under: root).hasSuffix("/web/js/app.js"))
        #expect(try StaticPath.resolve("js//app.js", under: root).hasSuffix("/web/js/app.js"))
        #expect(try StaticPath.resolve("alias.js", under: root).hasSuffix("/web/js/app.js"), "a link inside the root is fine")
        #expect(try StaticPath.resolve("%6As/app.js", under: root).hasSuffix("/web/js/app.js"))
    }

    @Test func refusesEveryWayOut() throws {
        let (root, base) = try Self.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: base) }
        for raw in ["../outside.js", "js/../../outside.js", "%2e%2e/outside.js", "%2E%2E%2Foutside.js", "..%2foutside.js",
                    "js/%2e%2e/%2e%2e/outside.js", "..\\outside.js", "js%5c..%5c..%5coutside.js", "index.html%00.js", "%00",
                    ".hidden.js", "js/.git.js", "./index.html", "escape.js", "dir/outside.js", "%ZZ.js", "c:/x.js",
                    String(repeating: "a/", count: 600) + "x.js"] {
            #expect(throws: StaticPath.Refusal.self, "\(raw)") { try StaticPath.resolve(raw, under: root) }
        }
        #expect(throws: StaticPath.Refusal.badPath) { try StaticPath.resolve("escape.js", under: root) }
        #expect(throws: StaticPath.Refusal.badPath) { try StaticPath.resolve("%2e%2e/outside.js", under: root) }
    }

    @Test func servesOnlyWhitelistedTypes() throws {
        let (root, base) = try Self.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: base) }
        #expect(throws: StaticPath.Refusal.notFound) { try StaticPath.resolve("secret.env", under: root) }
        #expect(throws: StaticPath.Refusal.notFound) { try StaticPath.resolve("disguised.js", under: root) }
        #expect(throws: StaticPath.Refusal.notFound) { try StaticPath.resolve("js", under: root) }
        #expect(throws: StaticPath.Refusal.notFound) { try StaticPath.resolve("missing.js", under: root) }
        #expect(throws: StaticPath.Refusal.notFound) { try StaticPath.resolve("index.html", under: base + "/nowhere") }
        #expect(ContentType.of("a.mjs") == "text/javascript; charset=utf-8")
        #expect(ContentType.of("a.JS") == "text/javascript; charset=utf-8")
        #expect(ContentType.of(".js") == nil)
        #expect(ContentType.of("Makefile") == nil)
    }
}
