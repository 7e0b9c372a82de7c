import RunnerProtocol
import Testing
@testable import RunnerHost

/// The debugger's pause/step logic, without processes.
@Suite struct DebugStateMachineTests {
    @Test func noBreakpointsMeansDirectRouting() {
        var m = DebugStateMachine()
        #expect(m.mode == .direct)
        #expect(m.arrived(stopsHere: false) == .deliver)
        #expect(m.breakpointsChanged(to: 0) == .none)
    }

    @Test func aBreakpointRoutesThroughTheHostAndPausesOnAHit() {
        var m = DebugStateMachine()
        #expect(m.breakpointsChanged(to: 1) == .routeViaHost)
        #expect(m.mode == .watching)
        #expect(m.arrived(stopsHere: false) == .deliver)
        #expect(m.arrived(stopsHere: true) == .holdAndPause)
        #expect(m.mode == .paused)
        #expect(m.arrived(stopsHere: false) == .hold, "a paused flow holds everything")
        #expect(m.arrived(stopsHere: true) == .hold, "no second pause while paused")
    }

    @Test func removingTheLastBreakpointWhileWatchingGoesBackToDirect() {
        var m = DebugStateMachine()
        _ = m.breakpointsChanged(to: 2)
        #expect(m.breakpointsChanged(to: 1) == .none)
        #expect(m.breakpointsChanged(to: 0) == .release(routeDirect: true))
        #expect(m.mode == .direct)
    }

    @Test func removingBreakpointsWhilePausedKeepsThePause() {
        var m = DebugStateMachine()
        _ = m.breakpointsChanged(to: 1)
        _ = m.arrived(stopsHere: true)
        #expect(m.breakpointsChanged(to: 0) == .none)
        #expect(m.mode == .paused)
        #expect(m.resume() == .release(routeDirect: true), "resuming without breakpoints returns to direct routing")
        #expect(m.mode == .direct)
    }

    @Test func stepOnARunningFlowPausesItFirst() {
        var m = DebugStateMachine()
        #expect(m.step(hasQueued: true) == .step(first: .routeViaHost))
        #expect(m.mode == .stepping)
        #expect(m.arrived(stopsHere: false) == .hold, "what a step emits is held")
        #expect(m.step(hasQueued: true) == .busy)
        m.stepFinished()
        #expect(m.mode == .paused)
        #expect(m.step(hasQueued: true) == .step(first: .none))
    }

    @Test func stepWithNothingQueuedIsEmptyAndLeavesTheFlowPaused() {
        var m = DebugStateMachine()
        _ = m.breakpointsChanged(to: 1)
        #expect(m.step(hasQueued: false) == .nothingToStep)
        #expect(m.mode == .paused)
    }

    @Test func resumeRunsOnUntilTheNextBreakpoint() {
        var m = DebugStateMachine()
        _ = m.breakpointsChanged(to: 1)
        _ = m.arrived(stopsHere: true)
        #expect(m.resume() == .release(routeDirect: false))
        #expect(m.mode == .watching)
        #expect(m.arrived(stopsHere: false) == .deliver)
        #expect(m.arrived(stopsHere: true) == .holdAndPause)
        #expect(m.resume() == .release(routeDirect: false))
        #expect(m.resume() == .none, "resuming a running flow does nothing")
    }

    @Test func resumeDuringAStepEndsIt() {
        var m = DebugStateMachine()
        _ = m.breakpointsChanged(to: 1)
        _ = m.step(hasQueued: true)
        #expect(m.resume() == .release(routeDirect: false))
        m.stepFinished()
        #expect(m.mode == .watching, "a late stepFinished does not pause again")
    }

    /// Issue 10's sequence: breakpoint mid-flow, two steps, resume. Released
    /// messages pass through `arrived` again, and one at the breakpoint
    /// pauses the flow anew: the machine says it holds messages.
    @Test func resumeWithAHeldMessageAtTheBreakpointPausesAgain() {
        var m = DebugStateMachine()
        _ = m.breakpointsChanged(to: 1)
        #expect(m.arrived(stopsHere: true) == .holdAndPause)
        for _ in 0..<2 {
            #expect(m.step(hasQueued: true) == .step(first: .none))
            #expect(m.mode == .stepping)
            #expect(m.arrived(stopsHere: false) == .hold, "what a step emits is held")
            m.stepFinished()
            #expect(m.mode == .paused)
        }
        #expect(m.resume() == .release(routeDirect: false), "breakpoints remain: watch on")
        #expect(m.mode == .watching)
        #expect(m.arrived(stopsHere: true) == .holdAndPause, "a released message at the breakpoint stops again")
        #expect(m.isHoldingMessages)
        #expect(m.arrived(stopsHere: false) == .hold, "the rest stays held")
        // Remove while paused: still paused; resume then releases everything directly.
        #expect(m.breakpointsChanged(to: 0) == .none)
        #expect(m.isHoldingMessages)
        #expect(m.resume() == .release(routeDirect: true))
        #expect(m.mode == .direct)
        #expect(m.resume() == .none, "a second resume has nothing to do")
    }

    @Test func settingABreakpointWhileSteppingKeepsTheStep() {
        var m = DebugStateMachine()
        #expect(m.step(hasQueued: true) == .step(first: .routeViaHost))
        #expect(m.breakpointsChanged(to: 1) == .none)
        #expect(m.mode == .stepping)
        #expect(m.step(hasQueued: true) == .busy, "one step at a time")
        m.stepFinished()
        #expect(m.mode == .paused)
        #expect(m.resume() == .release(routeDirect: false))
        #expect(m.mode == .watching)
    }

    @Test func aStepAfterResumePausesFirst() {
        var m = DebugStateMachine()
        _ = m.breakpointsChanged(to: 1)
        _ = m.arrived(stopsHere: true)
        _ = m.resume()
        #expect(m.mode == .watching)
        #expect(m.step(hasQueued: false) == .nothingToStep)
        #expect(m.mode == .paused, "an empty step still leaves the flow paused")
        #expect(m.resume() == .release(routeDirect: false))
    }
}
