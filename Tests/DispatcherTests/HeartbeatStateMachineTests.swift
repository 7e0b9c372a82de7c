import RunnerProtocol
import Testing
@testable import Dispatcher

/// Heartbeats driven by a test clock: instants are made up, nothing sleeps.
@Suite struct HeartbeatStateMachineTests {
    typealias Machine = HeartbeatStateMachine
    let t0 = ContinuousClock.now

    func at(_ ms: Int) -> ContinuousClock.Instant { t0 + .milliseconds(ms) }

    func welcomed() -> Machine {
        var m = Machine(connectedAt: t0)
        #expect(m.welcomed(at: at(100)) == [])
        return m
    }

    @Test func aNewConnectionIsJoiningUntilWelcomed() {
        var m = Machine(connectedAt: t0)
        #expect(m.runnerState == .joining)
        #expect(m.tick(at: at(1_000)) == [], "no pings before the welcome")
        _ = m.welcomed(at: at(1_200))
        #expect(m.runnerState == .live)
    }

    @Test func noHelloInTimeClosesTheConnection() {
        var m = Machine(connectedAt: t0)
        #expect(m.tick(at: at(9_999)) == [])
        #expect(m.tick(at: at(10_000)) == [.closeConnection(reason: "no hello within 10.0 s")])
        #expect(m.runnerState == .lost)
        #expect(m.tick(at: at(19_000)) == [], "lost is final")
    }

    @Test func pingsGoOutEveryIntervalAndATalkativeRunnerStaysLive() {
        var m = welcomed()
        var pings: [Int] = []
        for ms in stride(from: 200, through: 10_100, by: 100) {
            _ = m.heard(at: at(ms))
            for case .sendPing(let n) in m.tick(at: at(ms)) { pings.append(n) }
        }
        #expect(pings == Array(1...10))
        #expect(m.runnerState == .live)
    }

    @Test func silenceMakesItSuspectThenLostWithActions() {
        var m = welcomed()
        #expect(m.tick(at: at(1_100)) == [.sendPing(1)])
        #expect(m.tick(at: at(2_000)) == [])
        #expect(m.tick(at: at(2_100)) == [.markSuspect, .sendPing(2)])
        #expect(m.runnerState == .suspect)
        let reason = "silent for 3.0 s (lost after 3.0 s without a heartbeat)"
        #expect(m.tick(at: at(3_100)) == [.markLost(reason: reason), .closeConnection(reason: reason), .replaceModules])
        #expect(m.state == .lost(reason: reason))
        #expect(m.heard(at: at(3_200)) == [], "a late message does not bring it back: it must join again")
        #expect(m.tick(at: at(4_000)) == [])
    }

    @Test func aSuspectRunnerHeardInTimeIsLiveAgain() {
        var m = welcomed()
        _ = m.tick(at: at(1_100))
        #expect(m.tick(at: at(2_500)).contains(.markSuspect))
        #expect(m.heard(at: at(2_900)) == [.markLive])
        #expect(m.runnerState == .live)
        #expect(!m.tick(at: at(5_800)).contains(.replaceModules), "silence counts from the last message heard")
        #expect(m.tick(at: at(5_900)).contains(.replaceModules))
    }

    @Test func aLateTickSendsOnePingNotABurst() {
        var m = welcomed()
        _ = m.heard(at: at(2_500))
        #expect(m.tick(at: at(2_500)) == [.sendPing(1)])
        #expect(m.tick(at: at(2_600)) == [], "the next is due at 3.1 s")
        #expect(m.tick(at: at(3_100)) == [.sendPing(2)])
    }

    @Test func aClosedConnectionIsLostAtOnce() {
        var m = welcomed()
        #expect(m.disconnected(reason: "connection closed by the runner", at: at(500))
                == [.markLost(reason: "connection closed by the runner"), .replaceModules])
        #expect(m.disconnected(reason: "again", at: at(600)) == [])
        var joining = Machine(connectedAt: t0)
        #expect(joining.disconnected(reason: "closed", at: at(10)) == [], "a runner that never joined had no modules")
        #expect(joining.runnerState == .lost)
    }

    @Test func aReconnectOfTheSameRunnerEndsTheOldConnectionWithoutMovingModules() {
        var m = welcomed()
        let actions = m.superseded(at: at(800))
        #expect(actions == [.closeConnection(reason: "replaced by a new connection of the same runner")])
        #expect(!actions.contains(.replaceModules))
        #expect(m.tick(at: at(9_000)) == [])
    }

    @Test func theIntervalIsConfigurable() {
        var m = Machine(connectedAt: t0, policy: .every(.milliseconds(200)))
        _ = m.welcomed(at: t0)
        #expect(m.tick(at: at(200)) == [.sendPing(1)])
        #expect(m.tick(at: at(400)) == [.markSuspect, .sendPing(2)])
        #expect(m.tick(at: at(600)).contains(.replaceModules))
    }
}
