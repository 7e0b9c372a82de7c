import FlowModel
import RunnerProtocol
import Testing
@testable import RunnerHost

@Suite struct HotSwapStateMachineTests {
    func diff(moving: Bool) -> FlowDiff {
        let a = ModuleSpec(id: ModuleID("a"), runtime: .python3, code: "x")
        var b = a
        if moving { b.runtime = .node } else { b.code = "y" }
        return FlowDiff(from: FlowDocument(id: FlowID("f"), modules: [a], connections: []),
                        to: FlowDocument(id: FlowID("f"), modules: [b], connections: []))
    }

    @Test func aCodeChangeChecksDrainsSwapsAndReleases() {
        var m = HotSwapStateMachine(diff: diff(moving: false))
        #expect(m.begin() == .checkNewCode)
        #expect(m.checked(failure: nil) == .holdAndDrain)
        #expect(m.drained() == .swapInstances, "no module moves: no states to collect")
        #expect(m.instancesSwapped() == .release)
        #expect(m.released() == .finish)
        #expect(m.phase == .done)
    }

    @Test func aRuntimeChangeCollectsStatesFirst() {
        var m = HotSwapStateMachine(diff: diff(moving: true))
        _ = m.begin()
        _ = m.checked(failure: nil)
        #expect(m.drained() == .collectStates)
        #expect(m.phase == .collecting)
        #expect(m.statesCollected() == .swapInstances)
    }

    @Test func codeThatDoesNotLoadIsRefusedBeforeAnythingIsHeld() {
        var m = HotSwapStateMachine(diff: diff(moving: false))
        _ = m.begin()
        #expect(m.checked(failure: "module \"a\" does not load at line 2") == .refuse("module \"a\" does not load at line 2"))
        #expect(m.phase == .refused("module \"a\" does not load at line 2"))
        #expect(m.drained() == .finish, "no step after a refusal")
        #expect(m.instancesSwapped() == .finish)
    }

    @Test func stepsOutOfOrderDoNothing() {
        var m = HotSwapStateMachine(diff: diff(moving: false))
        #expect(m.drained() == .finish)
        #expect(m.released() == .finish)
        #expect(m.begin() == .checkNewCode)
        #expect(m.begin() == .finish, "one swap at a time")
    }
}
