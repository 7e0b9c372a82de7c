import FlowModel
import Foundation
import RunnerProtocol
import Testing
@testable import PipeBridge
@testable import RunnerHost

/// Crash correctness with real runtime processes killed from outside
/// (docs/architecture.md, "Supervision and crash redelivery"): an outside
/// `kill -9` costs no message and records no error, a module's state and
/// counters after a crash are those after exactly the messages that are not
/// delivered again, and only a message alone in flight for a whole process
/// life is ever blamed.
@Suite(.timeLimit(.minutes(3))) struct CrashRecoveryTests {
    static let countingCode: [RuntimeKind: String] = [
        .python3: "def on_message(msg, ctx):\n    ctx.state['n'] = ctx.state.get('n', 0) + 1\n    return msg.payload\n",
        .node: "exports.onMessage = (msg, ctx) => { ctx.state.n = (ctx.state.n || 0) + 1; return msg.payload; };",
    ]

    func pid(_ h: RunnerHarness, _ flow: String, _ runtime: RuntimeKind) async throws -> Int32? {
        try await h.host.status(FlowID(flow)).instances.first { $0.runtime == runtime }?.pid
    }

    func readyPids(_ events: [RunnerEvent], _ flow: String) -> [Int32] {
        events.compactMap {
            if case .instanceState(let f, _, .ready, let pid, _, _) = $0, f.rawValue == flow { return pid }
            return nil
        }
    }

    /// Outputs recorded after the `n`-th ready event of `flow`.
    func outputsAfterReady(_ events: [RunnerEvent], _ flow: String, _ n: Int) -> Int {
        var seen = 0
        var count = 0
        for event in events {
            if case .instanceState(let f, _, .ready, _, _, _) = event, f.rawValue == flow { seen += 1 }
            if seen >= n, case .output(let f, _, _, _) = event, f.rawValue == flow { count += 1 }
        }
        return count
    }

    /// `countingCode`, plus a gate: the first time it gets a payload named in `config.gates`, it
    /// leaves the gate's file and then blocks for 30 s (the whole process: both runtimes run one
    /// handler at a time), so that a kill lands while every message after it is still queued.
    static let gatedCountingCode: [RuntimeKind: String] = [
        .python3: """
            import os, time
            def on_message(msg, ctx):
                ctx.state['n'] = ctx.state.get('n', 0) + 1
                gate = ctx.config.get('gates', {}).get(str(msg.payload))
                if gate and not os.path.exists(gate):
                    open(gate, 'w').close()
                    time.sleep(30)
                return msg.payload

            """,
        .node: """
            const fs = require('fs');
            exports.onMessage = (msg, ctx) => {
              ctx.state.n = (ctx.state.n || 0) + 1;
              const gate = (ctx.config.gates || {})[String(msg.payload)];
              if (gate && !fs.existsSync(gate)) {
                fs.writeFileSync(gate, '');
                Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000);
              }
              return msg.payload;
            };
            """,
    ]

    @Test(arguments: [RuntimeKind.python3, .node])
    func aCountingModuleCountsEveryMessageOnceAcrossKills(runtime: RuntimeKind) async throws {
        let window = 32
        let gates = NSTemporaryDirectory() + "polyflow-gates-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: gates, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: gates) }
        try await withRunner(window: window) { h in
            let code = try #require(Self.gatedCountingCode[runtime])
            let total = 3000
            let kills = 3
            // Kill k lands while message total*k/(kills+1) blocks its process: whatever the load,
            // the messages after it are queued (a kill after everything was done would test nothing).
            let gateAt = (1...kills).map { total * $0 / (kills + 1) }
            let config = "{\"gates\": {" + gateAt.map { "\"\($0)\": \"\(gates)/gate-\($0)\"" }.joined(separator: ", ") + "}}"
            _ = try await h.deployAndStart(#"{"id": "tally", "modules": [{"id": "count", "runtime": "\#(runtime.rawValue)", "config": \#(config), "code": \#(js(code))}]}"#)
            let feeder = Task {
                for i in 0..<total { try await h.inject("tally", "count", "\(i)") }
            }
            for k in 1...kills {
                try await eventually("message \(gateAt[k - 1]) holds its process", timeout: .seconds(60)) {
                    FileManager.default.fileExists(atPath: "\(gates)/gate-\(gateAt[k - 1])")
                }
                #expect(Set(h.recorder.outputs("tally")).count < total, "messages are still queued at kill \(k)")
                let victim = try #require(try await pid(h, "tally", runtime))
                kill(victim, SIGKILL)
                // The next kill waits until the restarted process is past the messages
                // it got again one at a time (a kill that hits a suspect alone in a fresh
                // process would rightly blame it; an outside kill is not meant to).
                try await h.recorder.wait(for: "restart \(k) past redelivery", timeout: .seconds(60)) { events in
                    readyPids(events, "tally").count >= k + 1 && outputsAfterReady(events, "tally", k + 1) > window + 8
                }
            }
            try await feeder.value
            try await h.recorder.wait(for: "every message delivered", timeout: .seconds(60)) { events in
                Set(events.outputs("tally")).count == total
            }
            #expect(Set(h.recorder.outputs("tally")) == Set((0..<total).map { "\($0)" }))
            #expect(h.recorder.errors("tally").isEmpty, "an outside kill -9 costs no message: \(h.recorder.errors("tally").prefix(3))")
            try await eventually("counters and state add up to \(total)", timeout: .seconds(20)) {
                let m = try await h.host.status(FlowID("tally")).modules[0]
                return m.messagesIn == total && m.moduleState?["n"] == .int(total)
            }
            // What a restart gets is the committed state: one more kill, with nothing in flight.
            let last = try #require(try await pid(h, "tally", runtime))
            kill(last, SIGKILL)
            try await h.recorder.wait(for: "the last restart", timeout: .seconds(30)) { events in readyPids(events, "tally").count >= kills + 2 }
            let after = try await h.host.status(FlowID("tally")).modules[0]
            #expect(after.moduleState?["n"] == .int(total), "committed state: \(String(describing: after.moduleState))")
            #expect(after.messagesIn == total && after.messagesOut == total && after.errors == 0,
                    "in \(after.messagesIn), out \(after.messagesOut), errors \(after.errors)")
            try await h.inject("tally", "count", "\"later\"")
            try await eventually("one more counted") {
                try await h.host.status(FlowID("tally")).modules[0].moduleState?["n"] == .int(total + 1)
            }
        }
    }

    @Test func aSecondKillDuringCarefulRedeliveryBlamesNoOne() async throws {
        try await withRunner(window: 32) { h in
            // Each message takes 30 ms, so the 32 in flight at the first kill are
            // delivered again one at a time for about a second.
            let work = "module.exports = async (msg) => { await new Promise((r) => setTimeout(r, 30)); return msg.payload; };"
            _ = try await h.deployAndStart(#"{"id": "twice", "modules": [{"id": "work", "runtime": "node", "code": \#(js(work))}]}"#)
            // Enough work (~18 s) that both kills land while messages are still queued,
            // however late this test gets to them on a loaded machine.
            let total = 600
            for i in 0..<total { try await h.inject("twice", "work", "\(i)") }
            try await h.recorder.wait(for: "the first outputs") { events in events.outputs("twice").count >= 10 }
            let first = try #require(try await pid(h, "twice", .node))
            kill(first, SIGKILL)
            // Three suspects done after the restart: the one in flight now was not alone for its process's whole life.
            try await h.recorder.wait(for: "three outputs after the restart") { events in
                readyPids(events, "twice").count >= 2 && outputsAfterReady(events, "twice", 2) >= 3
            }
            let second = try #require(try await pid(h, "twice", .node))
            #expect(second != first)
            kill(second, SIGKILL)
            try await h.recorder.wait(for: "every message delivered after a second restart", timeout: .seconds(120)) { events in
                Set(events.outputs("twice")).count == total && readyPids(events, "twice").count >= 3
            }
            #expect(h.recorder.errors("twice").isEmpty, "no innocent message blamed: \(h.recorder.errors("twice"))")
            let status = try await h.host.status(FlowID("twice"))
            #expect(status.instances[0].restarts == 2)
            #expect(status.modules[0].errors == 0)
        }
    }

    @Test func aHandlerPastItsTimeLimitIsRecordedAndTheOthersAreDeliveredAgain() async throws {
        try await withRunner { h in
            let code = "def on_message(msg, ctx):\n    while msg.payload == 'hang':\n        pass\n    return msg.payload\n"
            _ = try await h.deployAndStart(#"{"id": "slow", "modules": [{"id": "m", "runtime": "python3", "timeoutMs": 4000, "code": \#(js(code))}]}"#)
            try await h.inject("slow", "m", "\"a\"")
            try await h.inject("slow", "m", "\"hang\"")
            try await h.inject("slow", "m", "\"b\"")
            try await eventually("status shows the module running long", timeout: .seconds(20)) {
                (try await h.host.status(FlowID("slow")).modules[0].runningLongMs ?? 0) >= 1000
            }
            try await h.recorder.wait(for: "the hung message recorded, the others delivered", timeout: .seconds(60)) { events in
                !events.errors("slow", "m").isEmpty && Set(events.outputs("slow")) == ["\"a\"", "\"b\""]
            }
            let errors = h.recorder.errors("slow", "m")
            #expect(errors.map(\.payload) == [.string("hang")])
            #expect(errors.first?.message.contains("time limit of 4000 ms (timeoutMs)") == true, "\(errors)")
            let status = try await h.host.status(FlowID("slow"))
            #expect(status.instances[0].restarts >= 1)
            #expect(status.modules[0].errors == 1)
            #expect(status.modules[0].runningLongMs == nil)
            try await h.inject("slow", "m", "\"c\"")
            try await h.recorder.wait(for: "the module serves again") { events in events.outputs("slow").contains("\"c\"") }
        }
    }

    @Test func aTimeLimitOfZeroIsNone() async throws {
        try await withRunner { h in
            let code = "import time\ndef on_message(msg, ctx):\n    time.sleep(1.2)\n    return msg.payload\n"
            _ = try await h.deployAndStart("""
            {"id": "nolimit", "modules": [
              {"id": "m", "runtime": "python3", "timeoutMs": 0, "code": \(js(code))},
              {"id": "quick", "runtime": "python3", "timeoutMs": 100, "code": \(js("def on_message(msg, ctx):\n    return msg.payload\n"))}]}
            """)
            try await h.inject("nolimit", "m", "1")
            try await h.recorder.wait(for: "the slow message done") { events in events.outputs("nolimit") == ["1"] }
            #expect(h.recorder.errors("nolimit").isEmpty)
            #expect(try await h.host.status(FlowID("nolimit")).instances[0].restarts == 0,
                    "a module without a limit switches the limit off for its instance")
        }
    }
}
