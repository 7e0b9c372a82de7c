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
}
