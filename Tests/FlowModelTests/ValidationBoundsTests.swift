@testable import FlowModel
import Foundation
import Testing

/// Validation costs time linear in the document, whatever names it uses
/// (issue 10: 400 connections to unknown 64-character ids took 68 s).
@Suite(.timeLimit(.minutes(1))) struct ValidationBoundsTests {
    static func flow(unknownConnections n: Int) -> JSONValue {
        let modules: [JSONValue] = (0..<n).map { i in
            ["id": .string(String(repeating: "m", count: 60) + String(format: "%04d", i)), "runtime": "node", "code": "module.exports = () => 1"]
        }
        let connections: [JSONValue] = (0..<n).map { i in
            let a = String(repeating: "q", count: 60) + String(format: "%04d", i), b = String(repeating: "z", count: 60) + String(format: "%04d", i)
            return ["from": .string("\(a).out"), "to": .string("\(b).in")]
        }
        return ["id": "big", "modules": .array(modules), "connections": .array(connections)]
    }

    func validationTime(_ n: Int) -> (Duration, Int) {
        let json = Self.flow(unknownConnections: n)
        var issues = 0
        let took = ContinuousClock().measure {
            do { _ = try FlowValidator(requireInlineCode: true).validate(json) } catch let error as FlowValidationError { issues = error.issues.count } catch {}
        }
        return (took, issues)
    }

    @Test func manyUnknownNamesAreReportedQuickly() {
        let (took, issues) = validationTime(400)
        #expect(issues == 800, "every unknown endpoint is reported")
        #expect(took < .seconds(3), "took \(took) (68 s before the bound)")
        let (bigger, _) = validationTime(1600)
        #expect(bigger < .seconds(12), "took \(bigger)")
    }

    @Test func suggestionsForHugeWordsCostNothing() {
        let word = String(repeating: "a", count: 10 << 20)
        let took = ContinuousClock().measure {
            #expect(DidYouMean.suggestion(for: word, among: ["listFlows", "status"]) == nil)
        }
        #expect(took < .seconds(2), "took \(took)")
        #expect(word.clipped().count == 101)
    }

    @Test func theBandedDistanceAgreesWithTheFullOne() {
        let words = ["print", "prnt", "parse", "pars", "Print", "xyz", "printer", "prin", "tnirp", "a", "ab", ""]
        for a in words {
            for b in words {
                let full = fullDistance(Array(a.utf8), Array(b.utf8))
                let banded = DidYouMean.boundedDistance(Array(a.utf8), Array(b.utf8), limit: 2)
                #expect(banded == (full <= 2 ? full : nil), "\(a) / \(b)")
            }
        }
    }

    func fullDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count { cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)) }
            prev = cur
        }
        return prev[b.count]
    }

    /// Issue 20, hole 3: `flowctl validate` (and addOrUpdateFlow) parse in one pass with the nesting
    /// bound: a document nested past 64 levels is one clear issue; a deep `config` is the user's own.
    @Test func aDocumentNestedTooDeepIsOneClearIssueAndADeepConfigIsFine() throws {
        let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        let text = "{\"id\":\"d\",\"modules\":[],\"connections\":[],\"description\":\(deep)}"
        do {
            _ = try FlowValidator().validate(Data(text.utf8))
            Issue.record("a 500-deep document validated")
        } catch {
            #expect(error.issues.count == 1)
            #expect(error.issues.first?.reason.contains("nested deeper than 64 levels") == true, "\(error.issues)")
        }
        let config = String(repeating: "{\"a\":", count: 300) + "1" + String(repeating: "}", count: 300)
        let ok = "{\"id\":\"d\",\"modules\":[{\"id\":\"m\",\"runtime\":\"python3\",\"code\":\"x\",\"config\":\(config)}],\"connections\":[]}"
        #expect(try FlowValidator().validate(Data(ok.utf8)).modules.count == 1)
    }
}
