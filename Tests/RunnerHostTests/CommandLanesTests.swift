import FlowModel
import NIOConcurrencyHelpers
import RunnerProtocol
import Testing
@testable import RunnerHost

/// Issue 21: commands to a `flowctl runner` ran one task each, so a flow's commands could run out of
/// order. A flow's commands now run in the order they came; reads and other flows do not wait.
@Suite(.timeLimit(.minutes(1))) struct CommandLanesTests {
    /// A gate a piece of work waits at until the test opens it (no sleeps).
    final class Gate: Sendable {
        private let state = NIOLockedValueBox<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        func wait() async {
            await withCheckedContinuation { c in
                let go = state.withLockedValue { s -> Bool in
                    if s.open { return true }
                    s.waiters.append(c)
                    return false
                }
                if go { c.resume() }
            }
        }
        func open() {
            let waiters = state.withLockedValue { s in s.open = true; defer { s.waiters = [] }; return s.waiters }
            for w in waiters { w.resume() }
        }
    }

    @Test func aFlowsCommandsRunInTheOrderTheyCameWhileReadsAndOtherFlowsGoOn() async throws {
        let lanes = CommandLanes()
        let done = NIOLockedValueBox<[String]>([])
        let slowDeploy = Gate()
        @Sendable func note(_ s: String) { done.withLockedValue { $0.append(s) } }
        // A deploy of "a" that takes long, then a start of "a" that would be quick.
        lanes.submit(RunnerCommand.deploy(RemoteDeploy(flow: FlowDocument(id: FlowID("a"), modules: [], connections: []), placed: [])).lane) {
            await slowDeploy.wait()
            note("deploy a")
        }
        lanes.submit(RunnerCommand.start(FlowID("a")).lane) { note("start a") }
        lanes.submit(RunnerCommand.inject(flow: FlowID("a"), module: ModuleID("m"), port: nil, payload: "1").lane) { note("inject a") }
        // Another flow, a status and an environment build do not wait for "a".
        lanes.submit(RunnerCommand.start(FlowID("b")).lane) { note("start b") }
        lanes.submit(RunnerCommand.status(FlowID("a")).lane) { note("status") }
        lanes.submit(RunnerCommand.installEnvironment(.python3, dependencies: []).lane) { note("install") }
        // Generous waits: on a loaded machine the tasks may wait a while for a thread.
        try await eventually("b, the status and the build ran", timeout: .seconds(45)) { Set(done.withLockedValue { $0 }) == ["start b", "status", "install"] }
        slowDeploy.open()
        try await eventually("a's commands ran", timeout: .seconds(45)) { done.withLockedValue { $0 }.count == 6 }
        #expect(done.withLockedValue { $0 }.filter { $0.hasSuffix(" a") } == ["deploy a", "start a", "inject a"])
        try await eventually("every lane empty again") { lanes.busyLanes == 0 }
    }

    @Test func eachCommandHasItsLane() {
        #expect(RunnerCommand.status(nil).lane == .alongside)
        #expect(RunnerCommand.listRuntimes.lane == .alongside)
        #expect(RunnerCommand.step(nil).lane == .everyFlow)
        #expect(RunnerCommand.step(FlowID("f")).lane == .flow(FlowID("f")))
        #expect(RunnerCommand.setBreakpoint(flow: FlowID("f"), Breakpoint(module: ModuleID("m"))).lane == .flow(FlowID("f")))
        #expect(RunnerCommand.fence([ModuleLease(flow: FlowID("g"), module: ModuleID("m"), gen: 2)]).lane == .flow(FlowID("g")))
        #expect(RunnerCommand.removeEnvironment(EnvironmentID("x")).lane == .environments)
    }
}
