import Testing
@testable import PipeBridge

/// Supervision driven by a test clock: instants are made up, nothing sleeps.
@Suite struct SupervisionStateMachineTests {
    typealias Machine = SupervisionStateMachine
    let t0 = ContinuousClock.now

    @Test func startSpawnsAndReadyIsReady() {
        var m = Machine()
        #expect(m.start() == .spawn)
        #expect(m.state == .starting(attempt: 0))
        #expect(m.start() == .none, "a second start does nothing")
        m.ready()
        #expect(m.state == .ready)
    }

    @Test func exitWhileReadyRestartsWithBackoff() {
        var m = Machine()
        _ = m.start(); m.ready()
        #expect(m.exited(reason: "killed", at: t0) == .scheduleRetry(after: .milliseconds(100)))
        #expect(m.state == .backingOff(attempt: 1))
        #expect(m.retryTimerFired() == .spawn)
        #expect(m.restarts == 1)
        #expect(m.state == .starting(attempt: 1))
    }

    @Test func backoffDoublesUpToTheCap() {
        var m = Machine(policy: .init(maxFailures: 100, window: .seconds(60), initialBackoff: .milliseconds(100), maxBackoff: .seconds(1)))
        _ = m.start()
        var delays: [Duration] = []
        for i in 0..<6 {
            if case .scheduleRetry(let d) = m.exited(reason: "crash", at: t0 + .seconds(i)) { delays.append(d) }
            #expect(m.retryTimerFired() == .spawn)
        }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
        #expect(m.restarts == 6)
    }

    @Test func readyResetsTheBackoff() {
        var m = Machine()
        _ = m.start()
        _ = m.exited(reason: "a", at: t0); _ = m.retryTimerFired()
        _ = m.exited(reason: "b", at: t0 + .seconds(1)); _ = m.retryTimerFired()
        m.ready()
        #expect(m.exited(reason: "c", at: t0 + .seconds(2)) == .scheduleRetry(after: .milliseconds(100)))
    }

    @Test func givesUpAfterTooManyFailuresInTheWindowAndSaysWhy() {
        var m = Machine(policy: .init(maxFailures: 3, window: .seconds(10)))
        _ = m.start()
        _ = m.exited(reason: "one", at: t0); _ = m.retryTimerFired()
        _ = m.exited(reason: "two", at: t0 + .seconds(1)); _ = m.retryTimerFired()
        let action = m.exited(reason: "bad hello", at: t0 + .seconds(2))
        guard case .giveUp(let reason) = action else { Issue.record("expected giveUp, got \(action)"); return }
        #expect(reason.contains("3 failures"))
        #expect(reason.contains("bad hello"))
        #expect(m.state == .failed(reason: reason))
        #expect(m.retryTimerFired() == .none)
        #expect(m.start() == .spawn, "an explicit start tries again")
    }

    @Test func failuresOutsideTheWindowAreForgotten() {
        var m = Machine(policy: .init(maxFailures: 3, window: .seconds(10)))
        _ = m.start()
        for i in 0..<10 {
            let action = m.exited(reason: "crash", at: t0 + .seconds(i * 6))
            #expect(action != .giveUp(reason: ""), "spaced failures never give up")
            if case .giveUp = action { Issue.record("gave up at failure \(i)") }
            _ = m.retryTimerFired()
        }
    }

    @Test func stopTerminatesAndExitThenIsExpected() {
        var m = Machine()
        _ = m.start(); m.ready()
        #expect(m.stop() == .terminate)
        #expect(m.state == .stopping)
        #expect(m.exited(reason: "exit 0", at: t0) == .none)
        #expect(m.state == .stopped)
        #expect(m.restarts == 0)
    }

    @Test func stopWhileBackingOffCancelsTheRetry() {
        var m = Machine()
        _ = m.start(); m.ready()
        _ = m.exited(reason: "crash", at: t0)
        #expect(m.stop() == .none)
        #expect(m.state == .stopped)
        #expect(m.retryTimerFired() == .none, "a late timer does not respawn a stopped instance")
    }
}
