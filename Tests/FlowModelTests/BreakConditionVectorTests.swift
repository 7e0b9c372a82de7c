import Foundation
import Testing
@testable import FlowModel

/// `BreakCondition` against every case of the shared vectors
/// (Tests/Fixtures/vectors/break-conditions.json), which the browser
/// runner's `break_condition.js` passes too: the same problems, word for
/// word, and the same matches.
@Suite struct BreakConditionVectorTests {
    static let vectors: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/vectors/break-conditions.json").standardized
        return try! JSONValue(parsing: Data(contentsOf: url))
    }()

    @Test func theVectorsHaveValidAndInvalidCases() {
        #expect((Self.vectors["valid"]?.arrayValue?.count ?? 0) >= 10)
        #expect((Self.vectors["invalid"]?.arrayValue?.count ?? 0) >= 10)
    }

    @Test func validConditionsMatchAsTheVectorsSay() {
        let shared = Self.vectors["payload"] ?? .null
        for vector in Self.vectors["valid"]?.arrayValue ?? [] {
            let name = vector["name"]?.stringValue ?? "?"
            let condition: BreakCondition
            do { condition = try BreakCondition(json: vector["condition"] ?? .null) } catch {
                Issue.record("\(name): refused: \(error)")
                continue
            }
            let payloads = vector["payloads"]?.arrayValue ?? [["payload": shared, "matches": vector["matches"] ?? .null]]
            for p in payloads {
                let payload = p["payload"] ?? .null
                #expect(JSONValue.bool(condition.matches(payload)) == p["matches"], "\(name): \(payload.jsonText)")
            }
        }
    }

    @Test func invalidConditionsNameTheFieldAndTheFix() {
        for vector in Self.vectors["invalid"]?.arrayValue ?? [] {
            let name = vector["name"]?.stringValue ?? "?"
            do {
                let condition = try BreakCondition(json: vector["condition"] ?? .null)
                Issue.record("\(name): accepted as \(condition.json.jsonText)")
            } catch {
                #expect(String(describing: error) == vector["problem"]?.stringValue, "\(name)")
            }
        }
    }
}
