import Foundation
import Testing
@testable import FlowModel

/// `tags` and `requireTags`: parsed, their form checked, every problem reported.
@Suite struct PlacementTagsValidationTests {
    func json(_ modules: String) -> Data { Data("{\"id\": \"f\", \"modules\": [\(modules)]}".utf8) }

    func validate(_ modules: String) throws -> FlowDocument { try FlowValidator().validate(json(modules)) }

    func issues(_ modules: String) -> [String] {
        do { _ = try FlowValidator().validate(json(modules)); return [] } catch { return error.issues.map(\.description) }
    }

    @Test func tagsAndRequireTagsAreParsed() throws {
        let flow = try validate("""
        {"id": "a", "runtime": "python3", "code": "x", "tags": ["gpu", "eu-west"], "requireTags": ["cuda:12", "big.mem"]},
        {"id": "b", "runtime": "node", "code": "x"}
        """)
        #expect(flow.modules[0].tags == ["gpu", "eu-west"])
        #expect(flow.modules[0].requireTags == ["cuda:12", "big.mem"])
        #expect(flow.modules[1].tags.isEmpty)
        #expect(flow.modules[1].requireTags.isEmpty)
    }

    @Test func badTagsAreReportedWithTheirPaths() {
        let found = issues("""
        {"id": "a", "runtime": "python3", "code": "x", "requireTags": ["gpu", "a b", "gpu", ""]},
        {"id": "b", "runtime": "node", "code": "x", "requireTags": "gpu", "tags": ["x,y"]},
        {"id": "c", "runtime": "node", "code": "x", "requireTag": ["gpu"]}
        """)
        #expect(found.contains(#"modules[0].requireTags[1]: tag "a b" may use only letters, digits, "_", "-", "." and ":", 1 to 64 of them"#))
        #expect(found.contains(#"modules[0].requireTags[2]: tag "gpu" is listed twice"#))
        #expect(found.contains { $0.hasPrefix("modules[0].requireTags[3]: tag \"\"") })
        #expect(found.contains("modules[1].requireTags: must be an array of strings"))
        #expect(found.contains { $0.hasPrefix("modules[1].tags[0]: tag \"x,y\"") })
        #expect(found.contains(#"modules[2].requireTag: unknown field (did you mean "requireTags"?)"#))
        #expect(found.count == 6, "\(found)")
    }

    @Test func storedDocumentsWithoutRequireTagsStillDecode() throws {
        let stored = #"{"id":"a","runtime":"node","code":"x","inputs":["in"],"outputs":["out"],"config":{},"tags":["gpu"]}"#
        let module = try JSONDecoder().decode(ModuleSpec.self, from: Data(stored.utf8))
        #expect(module.tags == ["gpu"])
        #expect(module.requireTags.isEmpty)
        let again = try JSONDecoder().decode(ModuleSpec.self, from: JSONEncoder().encode(ModuleSpec(id: ModuleID("a"), runtime: .node, code: "x", requireTags: ["cuda"])))
        #expect(again.requireTags == ["cuda"])
    }
}
