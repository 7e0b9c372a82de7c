import FlowModel
import Foundation
import NIOConcurrencyHelpers
import RunnerProtocol
import Testing
@testable import PipeBridge
@testable import RunnerHost

/// A path as a Python string literal (JSON's `\/` is not one).
func py(_ path: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    return String(decoding: try! encoder.encode(path), as: UTF8.self)
}

/// The supervision settings of docs/architecture.md ("Supervision and crash
/// redelivery") with real processes and the default policy: the give-up rule
/// and `startFlow` trying again, the start timeout, and the stop grace with
/// the record it leaves when a handler has to be killed.
// Waits are generous: the runner runs in the test process, whose timers a busy
// machine and a full parallel suite delay by tens of seconds at times.
@Suite(.timeLimit(.minutes(3))) struct SupervisionPolicyTests {
    /// A runtimes directory whose python3 runtime is the real one, except
    /// that it exits at once with status 3 while `marker` exists.
    static func crashingWhile(marker: String) throws -> String {
        let dir = NSTemporaryDirectory() + "polyflow-shim-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/python3", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/node", withDestinationPath: RunnerHarness.runtimesDirectory + "/node")
        let real = RunnerHarness.runtimesDirectory + "/python3/polyflow_runtime.py"
        try """
        import os, sys
        if os.path.exists(\(py(marker))):
            sys.exit(3)
        os.execv(sys.executable, [sys.executable, \(py(real))] + sys.argv[1:])
        """.write(toFile: dir + "/python3/polyflow_runtime.py", atomically: true, encoding: .utf8)
        return dir
    }

    /// A runtimes directory whose python3 runtime appends its pid to `pids` and never says hello.
    static func silent(pids: String) throws -> String {
        let dir = NSTemporaryDirectory() + "polyflow-silent-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/python3", withIntermediateDirectories: true)
        try """
        import os, time
        with open(\(py(pids)), "a") as f:
            f.write("%d\\n" % os.getpid())
        time.sleep(600)
        """.write(toFile: dir + "/python3/polyflow_runtime.py", atomically: true, encoding: .utf8)
        return dir
    }

    func failures(_ events: [RunnerEvent], _ flow: String) -> [String] {
        events.compactMap {
            if case .instanceState(let f, _, .failed, _, _, let reason) = $0, f.rawValue == flow { return reason ?? "" }
            return nil
        }
    }

    func degraded(_ events: [RunnerEvent], _ flow: String) -> String? {
        events.lazy.compactMap {
            if case .flowState(let f, .degraded, let reason) = $0, f.rawValue == flow { return reason ?? "" }
            return nil
        }.first
    }

    @Test func fiveFailuresWithinAMinuteLeaveTheInstanceFailedAndTheFlowDegradedUntilStartFlowTriesAgain() async throws {
        let marker = NSTemporaryDirectory() + "polyflow-crash-\(UUID().uuidString.prefix(8))"
        let runtimes = try Self.crashingWhile(marker: marker)
        defer {
            unlink(marker)
            try? FileManager.default.removeItem(atPath: runtimes)
        }
        try await withRunner(runtimesDirectory: runtimes) { h in
            _ = try await h.deployAndStart("""
            {"id": "gu", "modules": [{"id": "echo", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    return msg.payload\n"))}]}
            """)
            let pid = try #require(try await h.host.pids(FlowID("gu")).first)
            // From now on every start fails at once; the kill is the first failure.
            #expect(FileManager.default.createFile(atPath: marker, contents: Data()))
            kill(pid, SIGKILL)
            try await h.recorder.wait(for: "the flow degraded", timeout: .seconds(90)) { degraded($0, "gu") != nil }
            let reasons = failures(h.recorder.events, "gu")
            #expect(reasons.count == 5, "a failure for the kill and each of four failed restarts: \(reasons)")
            let reason = try #require(degraded(h.recorder.events, "gu"))
            #expect(reason.hasPrefix("python3 runtime: 5 failures within 60"), "\(reason)")
            #expect(reason.contains("exited with status 3"), "the last failure is named: \(reason)")
            let status = try await h.host.status(FlowID("gu"))
            #expect(status.state == .degraded)
            #expect(status.reason == reason)
            #expect(status.instances.first?.state == .failed)
            #expect(status.instances.first?.pid == nil, "no process left")
            #expect(status.modules.first?.state == .stopped)
            // Messages for it wait within the bounds, and startFlow tries again.
            try await h.inject("gu", "echo", "\"kept\"")
            unlink(marker)
            try await h.host.start(FlowID("gu"))
            let after = try await h.host.status(FlowID("gu"))
            #expect(after.state == .running)
            #expect(after.instances.first?.state == .ready)
            try await h.recorder.wait(for: "the waiting message delivered", timeout: .seconds(60)) { $0.outputs("gu") == ["\"kept\""] }
            #expect(failures(h.recorder.events, "gu").count == 5, "no failure after giving up")
        }
    }

    /// The supervisor's timers sleep on the clock it is given: with back-offs of an hour that this
    /// clock skips (it sleeps shorter times for real), the instance still fails five times and gives
    /// up at once, and every back-off was asked of the clock.
    @Test func theBackOffSleepsOnTheInjectedClock() async throws {
        let marker = NSTemporaryDirectory() + "polyflow-crash-\(UUID().uuidString.prefix(8))"
        let runtimes = try Self.crashingWhile(marker: marker)
        defer {
            unlink(marker)
            try? FileManager.default.removeItem(atPath: runtimes)
        }
        let clock = SkippingClock(skipFrom: .seconds(600))
        let hourly = SupervisionStateMachine.Policy(maxFailures: 5, window: .seconds(24 * 3600), initialBackoff: .seconds(3600), maxBackoff: .seconds(3600))
        try await withRunner(runtimesDirectory: runtimes, supervision: hourly, clock: clock) { h in
            _ = try await h.deployAndStart("""
            {"id": "clk", "modules": [{"id": "echo", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    return msg.payload\n"))}]}
            """)
            let pid = try #require(try await h.host.pids(FlowID("clk")).first)
            #expect(FileManager.default.createFile(atPath: marker, contents: Data()))
            kill(pid, SIGKILL)
            try await h.recorder.wait(for: "the flow degraded", timeout: .seconds(90)) { degraded($0, "clk") != nil }
            #expect(failures(h.recorder.events, "clk").count == 5)
            let skipped = clock.skipped.withLockedValue { $0 }
            #expect(skipped.count == 4, "four back-offs of an hour, each asked of the clock: \(skipped)")
            #expect(skipped.allSatisfy { $0 > .seconds(3500) })
        }
    }

    @Test func aRuntimeThatNeverSaysHelloFailsItsStartAfterTheStartTimeoutAndIsKilled() async throws {
        let pids = NSTemporaryDirectory() + "polyflow-pids-\(UUID().uuidString.prefix(8))"
        let runtimes = try Self.silent(pids: pids)
        defer {
            unlink(pids)
            try? FileManager.default.removeItem(atPath: runtimes)
        }
        try await withRunner(runtimesDirectory: runtimes) { h in
            let start = ContinuousClock.now
            do {
                try await h.host.deploy(try RunnerHarness.flow(#"{"id": "mute", "modules": [{"id": "m", "runtime": "python3", "code": "x"}]}"#))
                Issue.record("deployed on a runtime that never said hello")
            } catch let error as RunnerError {
                #expect(error.description.contains("did not say hello and load its modules within 20"), "\(error)")
            }
            let waited = ContinuousClock.now - start
            // No upper bound here: on a busy test process the timer fires late (72 s once); the suite's limit catches a hang.
            #expect(waited >= .seconds(19), "the start timeout is 20 s, waited \(waited)")
            let spawned = (try? String(contentsOfFile: pids, encoding: .utf8))?.split(separator: "\n").compactMap { Int32($0) } ?? []
            #expect(!spawned.isEmpty)
            try await eventually("every silent runtime gone", timeout: .seconds(20)) { spawned.allSatisfy { !processAlive($0) } }
        }
    }

    @Test func aStopKillsAHandlerPastTheGraceAndKeepsItsMessageQueued() async throws {
        let started = NSTemporaryDirectory() + "polyflow-started-\(UUID().uuidString.prefix(8))"
        defer { unlink(started) }
        try await withRunner { h in
            let code = "import time\ndef on_message(msg, ctx):\n    open(\(py(started)), 'w').close()\n    time.sleep(600)\n"
            _ = try await h.deployAndStart("""
            {"id": "grace", "modules": [{"id": "stuck", "runtime": "python3", "code": \(js(code))}]}
            """)
            let pid = try #require(try await h.host.pids(FlowID("grace")).first)
            try await h.inject("grace", "stuck", "{\"n\": 1}")
            try await eventually("the handler started", timeout: .seconds(60)) { FileManager.default.fileExists(atPath: started) }
            let start = ContinuousClock.now
            try await h.host.stop(FlowID("grace"))
            let took = ContinuousClock.now - start
            #expect(took >= .seconds(4.5), "the runtime had its 5 s grace, got \(took)")
            #expect(took < .seconds(100), "then it was killed, not waited for (600 s): \(took)")
            #expect(!processAlive(pid))
            // Never a silent loss: like an outside kill, a stop that has to kill a handler costs
            // no message and blames none (docs/architecture.md, the stop grace): the message it
            // was handling stays queued and is delivered again at the next start.
            let module = try #require(try await h.host.status(FlowID("grace")).modules.first)
            #expect(module.errors == 0, "errors \(module.errors)")
            #expect(module.queued == 1, "queued \(module.queued)")
            #expect(h.recorder.errors("grace", "stuck").isEmpty)
        }
    }

    @Test func aStopWaitsForAHandlerThatFinishesWithinTheGraceAndBlamesNothing() async throws {
        let started = NSTemporaryDirectory() + "polyflow-started-\(UUID().uuidString.prefix(8))"
        defer { unlink(started) }
        try await withRunner { h in
            // The handler writes when it started (the clock of this machine), then takes 3 s.
            let code = "import time\ndef on_message(msg, ctx):\n    with open(\(py(started)) + '.tmp', 'w') as f:\n        f.write(repr(time.time()))\n    import os\n    os.rename(\(py(started)) + '.tmp', \(py(started)))\n    time.sleep(3)\n    return msg.payload\n"
            _ = try await h.deployAndStart("""
            {"id": "brief", "modules": [{"id": "slow", "runtime": "python3", "code": \(js(code))}]}
            """)
            try await h.inject("brief", "slow", "{\"n\": 2}")
            try await eventually("the handler started", timeout: .seconds(60)) { FileManager.default.fileExists(atPath: started) }
            let handlerStarted = try #require(Double(String(contentsOfFile: started, encoding: .utf8)))
            try await h.host.stop(FlowID("brief"))
            // The handler takes 3 s of the 5 s grace: the stop returns after it ended, however late
            // this test saw it start (measured from the handler's own start, not from the test's poll).
            let returnedAt = Date().timeIntervalSince1970
            #expect(returnedAt >= handlerStarted + 2.9, "the stop waited for the handler: returned \(returnedAt - handlerStarted) s after it started")
            // Its output reaches the recorder through the event stream, maybe just after stop returned.
            try await h.recorder.wait(for: "its output delivered") { events in !events.outputs("brief").isEmpty }
            #expect(h.recorder.errors("brief").isEmpty)
            let outputs = h.recorder.outputs("brief").map { try? JSONValue(parsing: Data($0.utf8)) }
            #expect(outputs == [["n": 2]], "its output is delivered once")
        }
    }
}

/// A clock that sleeps for real, except for sleeps of `skipFrom` or longer, which it records and
/// ends at once: timers of an hour run in a test without waiting an hour.
struct SkippingClock: Clock {
    typealias Instant = ContinuousClock.Instant
    let skipFrom: Duration
    let skipped = NIOLockedValueBox<[Duration]>([])

    var now: Instant { .now }
    var minimumResolution: Duration { ContinuousClock().minimumResolution }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let length = deadline - .now
        if length >= skipFrom - .seconds(1) {
            skipped.withLockedValue { $0.append(length) }
            try Task.checkCancellation()
            return
        }
        try await ContinuousClock().sleep(until: deadline, tolerance: tolerance)
    }
}
