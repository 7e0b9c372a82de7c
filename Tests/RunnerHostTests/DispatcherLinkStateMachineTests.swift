import FlowModel
import RunnerProtocol
import Testing
@testable import RunnerHost

/// The runner's side of the heartbeats, driven by a test clock.
@Suite struct DispatcherLinkStateMachineTests {
    typealias Machine = DispatcherLinkStateMachine
    let t0 = ContinuousClock.now
    func at(_ ms: Int) -> ContinuousClock.Instant { t0 + .milliseconds(ms) }
    func welcome(session: Int = 1, drop: [ModuleLease] = []) -> RunnerWelcome { RunnerWelcome(runner: RunnerID("gpu-1"), session: session, drop: drop) }

    func connected() -> Machine {
        var m = Machine(now: t0)
        #expect(m.start() == [.connect])
        #expect(m.connected(at: at(10)) == [.sendHello])
        #expect(m.welcomed(welcome(), at: at(20)) == [])
        return m
    }

    @Test func helloThenWelcomeThenPings() {
        var m = connected()
        #expect(m.link == .connected(session: 1))
        #expect(m.tick(at: at(1_020)) == [.sendPing(1)])
        _ = m.heard(at: at(1_500))
        #expect(m.tick(at: at(2_020)) == [.sendPing(2)])
        #expect(m.modules == .running)
    }

    @Test func silenceHoldsTheModulesThenReconnectsAndAWelcomeReleasesThem() {
        var m = connected()
        _ = m.tick(at: at(1_020))
        #expect(m.tick(at: at(2_020)) == [.holdModules, .sendPing(2)])
        let actions = m.tick(at: at(3_020))
        #expect(actions.contains(.scheduleReconnect(after: .milliseconds(250))))
        #expect(m.link == .backingOff(attempt: 1))
        #expect(m.retryTimerFired() == [.connect])
        _ = m.connected(at: at(3_400))
        #expect(m.welcomed(welcome(session: 2), at: at(3_500)) == [.releaseModules])
        #expect(m.modules == .running)
    }

    @Test func aWelcomeAfterAPartitionDropsWhatMoved() {
        var m = connected()
        _ = m.disconnected(at: at(100))
        _ = m.retryTimerFired()
        _ = m.connected(at: at(400))
        let lease = ModuleLease(flow: FlowID("orders"), module: ModuleID("enrich"), gen: 3)
        #expect(m.welcomed(welcome(session: 5, drop: [lease]), at: at(500)) == [.drop([lease]), .releaseModules])
    }

    @Test func reconnectBacksOffUpToTheCap() {
        var m = connected()
        var delays: [Duration] = []
        for i in 0..<8 {
            for case .scheduleReconnect(let d) in m.disconnected(at: at(100 * i)) { delays.append(d) }
            _ = m.retryTimerFired()
        }
        #expect(delays == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5), .seconds(5)])
    }

    @Test func afterTheGraceWithoutAWelcomeTheRuntimesStop() {
        var m = connected()
        _ = m.disconnected(at: at(1_000))
        #expect(m.modules == .held(since: at(1_000)))
        #expect(m.tick(at: at(30_999)) == [])
        #expect(m.tick(at: at(31_000)) == [.stopRuntimes(reason: "no welcome from the dispatcher for 30.0 seconds after losing it")])
        #expect(m.modules == .stopped)
        _ = m.retryTimerFired()
        _ = m.connected(at: at(32_000))
        #expect(m.welcomed(welcome(session: 9), at: at(32_100)) == [], "nothing held any more: the dispatcher deploys afresh")
    }

    @Test func anAttemptWithoutAWelcomeIsGivenUp() {
        var m = Machine(now: t0)
        _ = m.start()
        _ = m.connected(at: at(10))
        #expect(m.tick(at: at(9_999)) == [])
        let actions = m.tick(at: at(10_000))
        #expect(actions.first == .closeConnection(reason: "no welcome within 10.0 seconds"))
        #expect(actions.contains(.scheduleReconnect(after: .milliseconds(250))))
        #expect(m.link == .backingOff(attempt: 1))
        // The next attempt has its own time, from when it starts.
        _ = m.retryTimerFired()
        #expect(m.tick(at: at(20_000)) == [])
        #expect(m.tick(at: at(20_250)).contains(.scheduleReconnect(after: .milliseconds(500))))
    }

    @Test func theWelcomeSetsTheInterval() {
        var m = Machine(now: t0)
        _ = m.start()
        _ = m.connected(at: at(10))
        _ = m.welcomed(RunnerWelcome(runner: RunnerID("gpu-1"), session: 1, heartbeatMs: 200, lostAfterMs: 600), at: at(20))
        #expect(m.tick(at: at(220)) == [.sendPing(1)])
        #expect(m.tick(at: at(420)) == [.holdModules, .sendPing(2)])
        #expect(m.tick(at: at(620)).contains(.scheduleReconnect(after: .milliseconds(250))))
    }

    @Test func aRefusalIsFinal() {
        var m = Machine(now: t0)
        _ = m.start()
        _ = m.connected(at: at(10))
        let refusal = RunnerRefusal(code: .duplicateName, message: "a runner named \"gpu-1\" is already connected")
        #expect(m.refused(refusal) == [.stopRuntimes(reason: refusal.message), .exit(reason: refusal.message)])
        #expect(m.disconnected(at: at(20)) == [], "no reconnect after a refusal")
        #expect(m.retryTimerFired() == [])
    }
}
