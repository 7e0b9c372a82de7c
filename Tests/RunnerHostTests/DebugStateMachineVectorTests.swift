import FlowModel
import Foundation
import RunnerProtocol
import Testing
@testable import RunnerHost

/// `DebugStateMachine` against every case of the shared vectors
/// (Tests/Fixtures/vectors/debug.json), which the browser runner's
/// `debug_state_machine.js` passes too.
@Suite struct DebugStateMachineVectorTests {
    static let vectors: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/vectors/debug.json").standardized
        return try! JSONValue(parsing: Data(contentsOf: url))
    }()

    /// An action in the vectors' form: `{type, routeDirect}`.
    static func json(_ action: DebugStateMachine.Action) -> JSONValue {
        switch action {
        case .none: ["type": "none"]
        case .routeViaHost: ["type": "routeViaHost"]
        case .release(let routeDirect): ["type": "release", "routeDirect": .bool(routeDirect)]
        }
    }

    static func json(_ arrival: DebugStateMachine.Arrival) -> JSONValue {
        switch arrival {
        case .deliver: "deliver"
        case .hold: "hold"
        case .holdAndPause: "holdAndPause"
        }
    }

    static func json(_ decision: DebugStateMachine.StepDecision) -> JSONValue {
        switch decision {
        case .nothingToStep: ["type": "nothingToStep"]
        case .busy: ["type": "busy"]
        case .step(let first): ["type": "step", "first": json(first)]
        }
    }

    /// Carries out one step; returns what the machine answered, keyed as in the vectors.
    static func apply(_ step: JSONValue, to m: inout DebugStateMachine) -> [String: JSONValue] {
        switch step["do"]?.stringValue {
        case "breakpointsChanged": return ["action": json(m.breakpointsChanged(to: step["count"]?.intValue ?? -1))]
        case "arrived": return ["arrival": json(m.arrived(stopsHere: step["stopsHere"] == .bool(true)))]
        case "pause": return ["action": json(m.pause())]
        case "step": return ["decision": json(m.step(hasQueued: step["hasQueued"] == .bool(true)))]
        case "stepFinished": m.stepFinished(); return [:]
        case "resume": return ["action": json(m.resume())]
        default:
            Issue.record("unknown event \(step["do"] ?? .null)")
            return [:]
        }
    }

    @Test func theVectorsHaveCases() {
        #expect((Self.vectors["cases"]?.arrayValue?.count ?? 0) >= 10)
    }

    @Test func everyCaseGivesItsAnswersAndModes() {
        for vector in Self.vectors["cases"]?.arrayValue ?? [] {
            let name = vector["name"]?.stringValue ?? "?"
            var m = DebugStateMachine()
            for (i, step) in (vector["steps"]?.arrayValue ?? []).enumerated() {
                let whereabouts = "\(name), step \(i) (\(step["do"]?.stringValue ?? "?"))"
                let answer = Self.apply(step, to: &m)
                for key in ["action", "arrival", "decision"] where step[key] != nil || answer[key] != nil {
                    #expect(answer[key] == step[key], "\(whereabouts): \(key)")
                }
                if let mode = step["mode"]?.stringValue { #expect(m.mode.rawValue == mode, "\(whereabouts): mode") }
                if case .bool(let holding)? = step["holding"] { #expect(m.isHoldingMessages == holding, "\(whereabouts): holding") }
            }
        }
    }
}
