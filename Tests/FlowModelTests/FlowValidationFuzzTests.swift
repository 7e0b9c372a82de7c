import Foundation
import FuzzSupport
import Testing
@testable import FlowModel

/// Bounded fuzzing of the flow document parser and validator, which read
/// whatever a client sends: plausible documents with random mistakes, random
/// JSON, and mutated JSON text. Nothing may crash; every refusal is a list of
/// one-line issues with a JSON path; validation time stays bounded; an
/// accepted flow is one the rest of the engine can trust.
@Suite(.timeLimit(.minutes(1))) struct FlowValidationFuzzTests {
    /// CPU time of one validation: generous for a debug build; the documents are at most ~100 KB.
    static let timeBound: Duration = .seconds(1)

    @Test func randomDocumentsAreAcceptedOrRefusedWithOneLineIssues() async {
        let run = FuzzRun(name: "flow-document", cases: 40)
        let failures = await run.run { seed in
            var g = SeededGenerator(seed: seed)
            let doc = g.chance(0.9) ? Self.plausibleFlow(using: &g) : JSONFuzz.value(using: &g)
            let requireInline = g.chance(0.5)
            if let problem = Self.check(doc, requireInlineCode: requireInline) { return problem }
            // The same document as text, sometimes mutated into bad JSON.
            var text = Array(doc.jsonText.utf8)
            if g.chance(0.6) { text = JSONFuzz.mutate(text, using: &g) }
            return Self.check(text: Data(text), requireInlineCode: requireInline)
        }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
    }

    @Test func userTextWithLineBreaksIsEscapedInIssues() throws {
        let doc: JSONValue = ["id": "a\nb", "modules": [["id": "m", "runtime": "py\u{2028}thon", "code": "x", "bell\u{7}": 1]],
                              "connections": [["from": "m.out", "to": "x\r\ny"]]]
        let error = try #require(throws: FlowValidationError.self) { try FlowValidator().validate(doc) }
        let text = error.issues.map(\.description)
        #expect(text.count == 4, "\(text)")
        #expect(text.contains { $0.hasPrefix("id: flow id \"a\\nb\" may use only") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("connections[0].to: \"x\\r\\ny\" is not") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("modules[0].bell\\u{7}: unknown field") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("modules[0].runtime: unknown runtime \"py\\u{2028}thon\"") }, "\(text)")
        #expect(error.oneLine.hasPrefix("invalid flow \"a\\nb\": "))
        #expect(!error.description.contains("\r"))
    }

    /// Checks one document; returns the problem, if any.
    static func check(_ doc: JSONValue, requireInlineCode: Bool) -> String? {
        let start = FuzzRun.threadCPUTime()
        let result = Result { () throws(FlowValidationError) in try FlowValidator(requireInlineCode: requireInlineCode).validate(doc) }
        let elapsed = FuzzRun.threadCPUTime() - start
        if elapsed > timeBound { return "validation took \(elapsed) of CPU for \(doc.jsonText.utf8.count) bytes" }
        let again = Result { () throws(FlowValidationError) in try FlowValidator(requireInlineCode: requireInlineCode).validate(doc) }
        switch (result, again) {
        case (.success(let flow), .success):
            return acceptedProblem(flow, requireInlineCode: requireInlineCode)
        case (.failure(let error), .failure(let second)):
            if error.issues != second.issues { return "two validations of one document disagree" }
            return refusalProblem(error)
        default:
            return "two validations of one document disagree"
        }
    }

    static func check(text: Data, requireInlineCode: Bool) -> String? {
        let start = FuzzRun.threadCPUTime()
        do {
            let flow = try FlowValidator(requireInlineCode: requireInlineCode).validate(text)
            if FuzzRun.threadCPUTime() - start > timeBound { return "validation of text took \(FuzzRun.threadCPUTime() - start) of CPU" }
            return acceptedProblem(flow, requireInlineCode: requireInlineCode)
        } catch {
            if FuzzRun.threadCPUTime() - start > timeBound { return "validation of text took \(FuzzRun.threadCPUTime() - start) of CPU" }
            return refusalProblem(error)
        }
    }

    /// A refusal: at least one issue, each with a path and a reason on one line.
    static func refusalProblem(_ error: FlowValidationError) -> String? {
        if error.issues.isEmpty { return "refused with no issue" }
        if error.oneLine.contains(where: \.isNewline) { return "oneLine has a line break: \(error.oneLine.debugDescription)" }
        for issue in error.issues {
            if issue.reason.isEmpty { return "an issue without a reason at \(issue.path)" }
            if issue.description.contains(where: \.isNewline) { return "issue spans lines: \(issue.description.debugDescription)" }
            // A path names fields the user wrote (an unknown one may be any text), but on one line.
            if issue.path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                return "issue path has a control character: \(issue.path.debugDescription)"
            }
            if issue.reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                return "issue reason has a control character: \(issue.reason.debugDescription)"
            }
        }
        // The multi-line form has exactly one line per issue, after its head.
        if error.description.split(separator: "\n", omittingEmptySubsequences: false).count != error.issues.count + 1 {
            return "description is not one line per issue: \(error.description.debugDescription)"
        }
        return nil
    }

    /// An accepted flow: valid unique ids, code as required, every connection between existing ports.
    static func acceptedProblem(_ flow: FlowDocument, requireInlineCode: Bool) -> String? {
        if !Identifier.isValid(flow.id.rawValue) { return "accepted flow id \(flow.id.rawValue.debugDescription)" }
        var seen = Set<ModuleID>()
        for m in flow.modules {
            if !Identifier.isValid(m.id.rawValue) { return "accepted module id \(m.id.rawValue.debugDescription)" }
            if !seen.insert(m.id).inserted { return "accepted duplicate module id \(m.id)" }
            if (m.code == nil) == (m.file == nil) { return "accepted module \(m.id) with code and file both or neither" }
            if requireInlineCode, m.code == nil { return "accepted module \(m.id) without inline code" }
        }
        for c in flow.connections {
            guard let from = flow.module(c.from.module), from.outputs.contains(c.from.port),
                  let to = flow.module(c.to.module), to.inputs.contains(c.to.port) else {
                return "accepted a connection to nowhere: \(c.from) → \(c.to)"
            }
        }
        if Set(flow.connections).count != flow.connections.count { return "accepted a duplicate connection" }
        return nil
    }

    // MARK: generator

    /// A flow document that is mostly right, with random mistakes of the kinds users make.
    static func plausibleFlow(using g: inout SeededGenerator) -> JSONValue {
        var o: [String: JSONValue] = [:]
        if !g.chance(0.05) { o["id"] = g.chance(0.85) ? .string(JSONFuzz.identifier(using: &g, length: Int.random(in: 1...10, using: &g))) : JSONFuzz.value(using: &g, depth: 1) }
        if g.chance(0.2) { o["description"] = g.chance(0.8) ? .string(JSONFuzz.string(using: &g)) : JSONFuzz.value(using: &g, depth: 1) }
        if g.chance(0.05) { o[JSONFuzz.string(using: &g, maxLength: 10)] = JSONFuzz.value(using: &g, depth: 1) }
        var ids: [String] = []
        var ports: [String: (inputs: [String], outputs: [String])] = [:]
        var modules: [JSONValue] = []
        for _ in 0..<Int.random(in: 0...g.pick([3, 12, 40]), using: &g) {
            if g.chance(0.03) { modules.append(JSONFuzz.value(using: &g, depth: 2)); continue }
            var m: [String: JSONValue] = [:]
            let id: String
            if !ids.isEmpty, g.chance(0.05) { id = g.pick(ids) }  // a duplicate
            else if g.chance(0.05) { id = JSONFuzz.string(using: &g) }
            else { id = JSONFuzz.identifier(using: &g, length: Int.random(in: 1...(g.chance(0.1) ? 64 : 8), using: &g)) }
            ids.append(id)
            if !g.chance(0.03) { m["id"] = g.chance(0.97) ? .string(id) : JSONFuzz.value(using: &g, depth: 1) }
            if !g.chance(0.03) {
                m["runtime"] = g.chance(0.9) ? .string(g.pick(["python3", "node", "browser", "pyhton3", "Node", "", "ruby"])) : JSONFuzz.value(using: &g, depth: 1)
            }
            switch Int.random(in: 0..<10, using: &g) {
            case 0: break
            case 1: m["code"] = "x"; m["file"] = "m.py"
            case 2: m["file"] = g.chance(0.8) ? .string(JSONFuzz.string(using: &g)) : JSONFuzz.value(using: &g, depth: 1)
            case 3: m["code"] = JSONFuzz.value(using: &g, depth: 1)
            default: m["code"] = .string(g.chance(0.9) ? "def on_message(msg, ctx):\n    return msg.payload\n" : JSONFuzz.string(using: &g))
            }
            var inputs = ["in"], outputs = ["out"]
            for (key, isInput) in [("inputs", true), ("outputs", false)] where g.chance(0.3) {
                if g.chance(0.1) { m[key] = JSONFuzz.value(using: &g, depth: 2); continue }
                let names = (0..<Int.random(in: 0...4, using: &g)).map { _ in
                    g.chance(0.8) ? JSONFuzz.identifier(using: &g, length: Int.random(in: 1...6, using: &g)) : JSONFuzz.string(using: &g, maxLength: 10)
                }
                m[key] = .array(names.map { g.chance(0.95) ? .string($0) : JSONFuzz.value(using: &g, depth: 0) })
                if isInput { inputs = names } else { outputs = names }
            }
            if g.chance(0.3) { m["config"] = JSONFuzz.value(using: &g) }
            if g.chance(0.1) { m["tags"] = g.chance(0.7) ? .array([.string(JSONFuzz.string(using: &g))]) : JSONFuzz.value(using: &g, depth: 1) }
            if g.chance(0.05) { m[g.pick(["Code", "input", "outputz", JSONFuzz.string(using: &g, maxLength: 10)])] = .int(1) }
            ports[id] = (inputs, outputs)
            modules.append(.object(m))
        }
        if !g.chance(0.03) { o["modules"] = g.chance(0.97) ? .array(modules) : JSONFuzz.value(using: &g, depth: 1) }
        var connections: [JSONValue] = []
        for _ in 0..<Int.random(in: 0...g.pick([2, 10, 80]), using: &g) {
            if g.chance(0.03) { connections.append(JSONFuzz.value(using: &g, depth: 2)); continue }
            func endpoint(_ output: Bool, _ g: inout SeededGenerator) -> JSONValue {
                if g.chance(0.05) { return JSONFuzz.value(using: &g, depth: 1) }
                guard !ids.isEmpty, g.chance(0.9) else { return .string(JSONFuzz.string(using: &g, maxLength: 20)) }
                var module = g.pick(ids)
                let known = output ? ports[module]?.outputs ?? [] : ports[module]?.inputs ?? []
                var port = known.isEmpty || g.chance(0.1) ? JSONFuzz.identifier(using: &g, length: 3) : g.pick(known)
                if g.chance(0.15) { module = misspell(module, using: &g) }
                if g.chance(0.05) { port = misspell(port, using: &g) }
                return .string(g.chance(0.97) ? "\(module).\(port)" : "\(module)\(port)")
            }
            var c: [String: JSONValue] = [:]
            if !g.chance(0.03) { c["from"] = endpoint(true, &g) }
            if !g.chance(0.03) { c["to"] = endpoint(false, &g) }
            if g.chance(0.03) { c["via"] = "x" }
            connections.append(.object(c))
            if g.chance(0.05) { connections.append(.object(c)) }  // a duplicate
        }
        if g.chance(0.9) { o["connections"] = g.chance(0.97) ? .array(connections) : JSONFuzz.value(using: &g, depth: 1) }
        return .object(o)
    }

    /// `word` with one character changed, dropped or added.
    static func misspell(_ word: String, using g: inout SeededGenerator) -> String {
        var chars = Array(word)
        let at = chars.isEmpty ? 0 : Int.random(in: 0..<chars.count, using: &g)
        switch Int.random(in: 0..<3, using: &g) {
        case 0 where !chars.isEmpty: chars[at] = g.pick(Array("xyz_-Q"))
        case 1 where !chars.isEmpty: chars.remove(at: at)
        default: chars.insert(g.pick(Array("aeiou")), at: at)
        }
        return String(chars)
    }
}
