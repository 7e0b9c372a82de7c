import FlowModel
import Foundation
import RunnerProtocol
import Testing
@testable import RunnerHost

/// The four ways a deploy goes, decided from what runs here (`DeployPath`), and the states a
/// replacing run starts from.
@Suite struct DeployPathTests {
    func flow(_ modules: [(String, String)]) throws -> FlowDocument {
        let list = modules.map { #"{"id": "\#($0.0)", "runtime": "\#($0.1)", "code": "x"}"# }.joined(separator: ", ")
        return try FlowValidator(requireInlineCode: true).validate(Data(#"{"id": "f", "modules": [\#(list)]}"#.utf8))
    }

    @Test func aFlowNewHereStartsAtOnceOrIsReplacedIntoPlace() throws {
        let f = try flow([("a", "python3")])
        #expect(DeployPath.decide(old: nil, new: f, start: true) == .startNew)
        #expect(DeployPath.decide(old: nil, new: f, start: false) == .replace)
    }

    @Test func theSameModulesHereChangeNothingWhateverTheState() throws {
        let f = try flow([("a", "python3")])
        for state in [FlowRunState.running, .stopped, .deployed, .paused] {
            #expect(DeployPath.decide(old: (f, state), new: f, start: true) == .unchanged)
        }
    }

    @Test func aRunningFlowIsSwappedAndAStoppedOneReplaced() throws {
        let old = try flow([("a", "python3")]), new = try flow([("a", "python3"), ("b", "node")])
        for state in [FlowRunState.running, .degraded, .paused] {
            #expect(DeployPath.decide(old: (old, state), new: new, start: false) == .swap, "\(state)")
        }
        for state in [FlowRunState.deployed, .stopped] {
            #expect(DeployPath.decide(old: (old, state), new: new, start: true) == .replace, "\(state)")
        }
    }

    @Test func aReplacingRunKeepsTheStatesOfModulesThatStayedOnTheirRuntime() throws {
        let old = try flow([("a", "python3"), ("b", "python3")])
        let new = try flow([("a", "python3"), ("b", "node"), ("c", "node")])
        let a = ModuleID("a"), b = ModuleID("b"), c = ModuleID("c")
        let states = DeployPath.states(restored: [a: 9, c: 3], kept: [a: 1, b: 2], old: old, new: new)
        // a stayed (its own state wins over a restored one), b changed runtime (starts anew), c is new (restored).
        #expect(states == [a: 1, c: 3])
    }
}
