import Foundation
import Testing
@testable import FlowModel

/// Validation reports every problem with its JSON path and a readable reason.
@Suite struct FlowValidatorTests {
    func issues(_ json: String, requireInlineCode: Bool = false) -> [String] {
        do {
            _ = try FlowValidator(requireInlineCode: requireInlineCode).validate(Data(json.utf8))
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func validFlowParsesWithDefaults() throws {
        let flow = try FlowValidator().validate(Data("""
        {"id": "orders", "modules": [
           {"id": "parse", "runtime": "python3", "code": "def on_message(m, c): pass", "config": {"strict": true}},
           {"id": "enrich", "runtime": "node", "code": "module.exports = () => 1", "inputs": ["a", "b"], "outputs": []}],
         "connections": [{"from": "parse.out", "to": "enrich.b"}]}
        """.utf8))
        #expect(flow.id.rawValue == "orders")
        #expect(flow.modules[0].inputs == [PortName("in")])
        #expect(flow.modules[0].outputs == [PortName("out")])
        #expect(flow.modules[0].config == .object(["strict": .bool(true)]))
        #expect(flow.modules[1].inputs.map(\.rawValue) == ["a", "b"])
        #expect(flow.modules[1].outputs.isEmpty)
        #expect(flow.connections.count == 1)
    }

    @Test func everyProblemIsReportedWithItsPath() {
        let found = issues("""
        {"id": "bad id!", "modules": [
           {"id": "print", "runtime": "python3", "code": "x"},
           {"id": "print", "runtime": "nodejs", "code": "x", "file": "y.js"},
           {"id": "z", "runtime": "node"},
           {"runtime": "node", "code": 5}],
         "connections": [{"from": "print.out", "to": "prnt.in"}, {"from": "print.outt", "to": "z.in"}, {"from": "nodot", "to": "z.in"}],
         "extra": 1}
        """)
        #expect(found.contains { $0.hasPrefix("id: flow id \"bad id!\" may use only") })
        #expect(found.contains { $0.hasPrefix("modules[1].runtime: unknown runtime \"nodejs\" (did you mean \"node\"?)") })
        #expect(found.contains("modules[1]: has both \"code\" and \"file\": keep exactly one"))
        #expect(found.contains("modules[2]: has neither \"code\" nor \"file\": give the module's source inline or a file path"))
        #expect(found.contains("modules[3].id: missing: every module needs an \"id\""))
        #expect(found.contains { $0.hasPrefix("modules[3].code: must be a string, got") })
        #expect(found.contains("extra: unknown field"))
        #expect(found.contains { $0.hasPrefix("connections[2].from: \"nodot\" is not \"module.port\"") })
        #expect(found.count >= 8, "all problems reported, got \(found)")
    }

    @Test func crossReferenceProblemsAllReported() {
        let found = issues("""
        {"id": "f", "modules": [
           {"id": "print", "runtime": "python3", "code": "x"},
           {"id": "print", "runtime": "node", "code": "x"},
           {"id": "src", "runtime": "node", "code": "x"}],
         "connections": [{"from": "src.out", "to": "prnt.in"}, {"from": "src.outt", "to": "print.in"},
                         {"from": "src.out", "to": "print.in"}, {"from": "src.out", "to": "print.in"}]}
        """)
        #expect(found.contains { $0.hasPrefix("modules[1].id: duplicate module id \"print\" (first used by modules[0])") })
        #expect(found.contains("connections[0].to: no module \"prnt\" (did you mean \"print\"?)"))
        #expect(found.contains { $0.hasPrefix("connections[1].from: module \"src\" has no output port \"outt\" (did you mean \"out\"?)") })
        #expect(found.contains { $0.hasPrefix("connections[3]: duplicate connection") })
    }

    @Test func wrongTypesAreNamed() {
        #expect(issues("[1]") == ["a flow must be a JSON object, got an array"] || issues("[1]").first?.hasPrefix("a flow must be a JSON object") == true)
        let found = issues(#"{"id": 3, "modules": {}, "connections": "x"}"#)
        #expect(found.contains { $0.hasPrefix("id: must be a string") })
        #expect(found.contains { $0.hasPrefix("modules: must be an array of modules") })
        #expect(found.contains { $0.hasPrefix("connections: must be an array of connections") })
    }

    @Test func malformedJSONIsOneIssue() {
        let found = issues(#"{"id": "f", "modules": [}"#)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("not valid JSON") == true)
    }

    @Test func portNamesAreChecked() {
        let found = issues(#"{"id": "f", "modules": [{"id": "a", "runtime": "node", "code": "x", "inputs": ["in", "in", "b c", 4]}]}"#)
        #expect(found.contains("modules[0].inputs[1]: port \"in\" is listed twice"))
        #expect(found.contains { $0.hasPrefix("modules[0].inputs[2]: port name \"b c\" may use only") })
        #expect(found.contains { $0.hasPrefix("modules[0].inputs[3]: a port name must be a string") })
    }

    @Test func serverSideRequiresInlineCode() {
        let json = #"{"id": "f", "modules": [{"id": "a", "runtime": "node", "file": "a.js"}]}"#
        #expect(issues(json).isEmpty)
        let found = issues(json, requireInlineCode: true)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("modules[0].file: the server does not read files") == true)
    }

    @Test func idLengthLimit() {
        let long = String(repeating: "a", count: 65)
        #expect(!issues(#"{"id": "\#(long)", "modules": []}"#).isEmpty)
        #expect(issues(#"{"id": "\#(String(long.dropFirst()))", "modules": []}"#).isEmpty)
    }

    @Test func oneLineNamesTheFlowAndCountsProblems() {
        do {
            _ = try FlowValidator().validate(Data(#"{"id": "f", "modules": [{"id": "a"}]}"#.utf8))
            Issue.record("expected a validation error")
        } catch {
            #expect(error.flowID == "f")
            #expect(error.issues.count == 2)
            #expect(error.oneLine.contains("modules[0].runtime"))
        }
    }

    @Test func exampleFlowsValidate() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../examples/flows").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
        #expect(files.count >= 3)
        for f in files {
            let data = try Data(contentsOf: dir.appendingPathComponent(f))
            #expect(throws: Never.self, "\(f)") { try FlowValidator().validate(data) }
        }
    }
}

@Suite struct DidYouMeanTests {
    @Test func suggestsCloseNames() {
        #expect(DidYouMean.suggestion(for: "prnt", among: ["print", "parse"]) == "print")
        #expect(DidYouMean.suggestion(for: "Parse", among: ["print", "parse"]) == "parse")
        #expect(DidYouMean.suggestion(for: "zzzzzz", among: ["print", "parse"]) == nil)
        #expect(DidYouMean.hint(for: "x", among: []) == "")
    }
}

extension DidYouMeanTests {
    @Test func prefixesCount() {
        #expect(DidYouMean.suggestion(for: "nodejs", among: ["python3", "node", "browser"]) == "node")
        #expect(DidYouMean.suggestion(for: "python", among: ["python3", "node", "browser"]) == "python3")
    }
}

extension FlowValidatorTests {
    @Test func badIdsAndRuntimesDoNotHideOtherProblemsOrAddFollowOnOnes() {
        let found = issues("""
        {"id": "bad id", "modules": [
           {"id": "a", "runtime": "rust", "code": "x"},
           {"id": "a", "runtime": "node", "code": "x"}],
         "connections": [{"from": "a.out", "to": "a.inn"}]}
        """)
        #expect(found.contains { $0.hasPrefix("id: flow id \"bad id\"") })
        #expect(found.contains { $0.hasPrefix("modules[0].runtime: unknown runtime \"rust\"") })
        #expect(found.contains { $0.hasPrefix("modules[1].id: duplicate module id \"a\"") }, "cross-checks ran despite the bad flow id")
        #expect(found.contains { $0.hasPrefix("connections[0].to: module \"a\" has no input port \"inn\"") })
        #expect(!found.contains { $0.contains("no module \"a\"") }, "no follow-on error for the module with a bad runtime")
    }
}
