import FlowModel
import Foundation
import RunnerProtocol
import Testing
@testable import PipeBridge
@testable import RunnerHost

/// The runner with real Python and Node runtime processes over real fifos.
@Suite(.timeLimit(.minutes(2))) struct RunnerHostTests {
    @Test func pipelineCrossesFromPythonToNode() async throws {
        try await withRunner() { h in
        _ = try await h.deployAndStart("""
        {"id": "p", "modules": [
          {"id": "parse", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    return {'words': msg.payload.split()}\n"))},
          {"id": "count", "runtime": "node", "code": \(js("module.exports = (msg) => ({count: msg.payload.words.length, lang: 'node'})"))}],
         "connections": [{"from": "parse.out", "to": "count.in"}]}
        """)
        try await h.inject("p", "parse", #""a b c""#)
        try await h.recorder.wait(for: "output of count") { events in !events.outputs("p", "count").isEmpty }
        #expect(try JSONValue(parsing: Data(h.recorder.outputs("p", "count")[0].utf8)) == .object(["count": .int(3), "lang": .string("node")]))
        #expect(try await h.host.status(FlowID("p")).state == .running)
        try await eventually("counters reported") {
            let modules = try await h.host.status(FlowID("p")).modules
            return modules.allSatisfy { $0.messagesIn == 1 && $0.messagesOut == 1 }
        }
        }
    }

    @Test func fanOutCopiesAndFanInKeepsState() async throws {
        try await withRunner() { h in
        _ = try await h.deployAndStart("""
        {"id": "fan", "modules": [
          {"id": "source", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    ctx.send('out', {'v': msg.payload, 'tags': []})\n"))},
          {"id": "mutate", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    msg.payload['tags'].append('mutated')\n    return msg.payload\n"))},
          {"id": "same", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    return msg.payload\n"))},
          {"id": "js", "runtime": "node", "code": \(js("module.exports = (msg) => { msg.payload.tags.push('js'); return msg.payload; }"))},
          {"id": "collect", "runtime": "node", "outputs": ["out"], "code": \(js("""
          exports.init = (ctx) => { ctx.state.seen = 0; };
          exports.onMessage = (msg, ctx) => { ctx.state.seen += 1; ctx.send('out', {seen: ctx.state.seen, tags: msg.payload.tags}); };
          """))}],
         "connections": [
          {"from": "source.out", "to": "mutate.in"}, {"from": "source.out", "to": "same.in"}, {"from": "source.out", "to": "js.in"},
          {"from": "mutate.out", "to": "collect.in"}, {"from": "same.out", "to": "collect.in"}, {"from": "js.out", "to": "collect.in"}]}
        """)
        try await h.inject("fan", "source", "1")
        try await h.recorder.wait(for: "three outputs of collect") { events in events.outputs("fan", "collect").count == 3 }
        let outs = try h.recorder.outputs("fan", "collect").map { try JSONValue(parsing: Data($0.utf8)) }
        let tags = Set(outs.compactMap { $0["tags"] })
        #expect(tags == [.array(["mutated"]), .array([]), .array(["js"])], "each fan-out target got its own copy")
        #expect(Set(outs.compactMap { $0["seen"] }) == [.int(1), .int(2), .int(3)], "state kept across messages")
        }
    }

    @Test func orderIsKeptPerSenderReceiverPair() async throws {
        try await withRunner(window: 16) { h in
        _ = try await h.deployAndStart("""
        {"id": "order", "modules": [
          {"id": "py", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    return msg.payload\n"))},
          {"id": "node", "runtime": "node", "code": \(js("module.exports = async (msg) => { await null; return msg.payload; }"))},
          {"id": "back", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    return msg.payload\n"))}],
         "connections": [{"from": "py.out", "to": "node.in"}, {"from": "node.out", "to": "back.in"}]}
        """)
        let count = 1500
        for i in 0..<count { try await h.inject("order", "py", "\(i)") }
        try await h.recorder.wait(for: "\(count) outputs") { events in events.outputs("order", "back").count == count }
        #expect(h.recorder.outputs("order", "back") == (0..<count).map { "\($0)" })
        }
    }

    /// python gen → node relay → python count, gen and count in one python
    /// instance: one handler call sends far more than the queue bound. The
    /// host must not stop reading node for python (nor python for node), or
    /// the python process blocks writing inside gen and nobody runs count.
    @Test func aCycleOfInstancesDrainsWhenOneHandlerSendsMoreThanTheBounds() async throws {
        try await withRunner(queueBound: 100) { h in
        let n = 40_000
        _ = try await h.deployAndStart("""
        {"id": "cyc", "modules": [
          {"id": "gen", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    for i in range(msg.payload):\n        ctx.send('out', {'i': i, 'pad': 'x' * 200})\n"))},
          {"id": "relay", "runtime": "node", "code": \(js("module.exports = (msg) => msg.payload;"))},
          {"id": "count", "runtime": "python3", "code": \(js("seen = 0\ndef on_message(msg, ctx):\n    global seen\n    seen += 1\n    if seen == \(n):\n        return seen\n"))}],
         "connections": [{"from": "gen.out", "to": "relay.in"}, {"from": "relay.out", "to": "count.in"}]}
        """)
        try await h.inject("cyc", "gen", "\(n)")
        try await h.recorder.wait(for: "count saw all \(n) (~9 MB through the cycle)", timeout: .seconds(60)) { events in
            events.outputs("cyc", "count") == ["\(n)"]
        }
        }
    }

    @Test func feedersInACycleOfInstancesAreToldApart() {
        // 0 → 1 → 2 → 0 is a cycle; 3 only feeds 0.
        let feeds: [Set<Int>] = [[1], [2], [0], [0]]
        #expect(DataPath.reaches(from: 1, to: 0, feeds))
        #expect(DataPath.reaches(from: 0, to: 2, feeds))
        #expect(!DataPath.reaches(from: 0, to: 3, feeds))
    }

    @Test func boundedQueuesRefuseInjectionInsteadOfBuffering() async throws {
        // The sink holds every message until the marker file exists: the queue fills
        // whatever the machine's speed, and drains once the test creates it.
        let marker = NSTemporaryDirectory() + "polyflow-open-\(UUID().uuidString.prefix(8))"
        defer { unlink(marker) }
        try await withRunner(window: 2, queueBound: 4) { h in
        let sink = """
        const fs = require('fs');
        module.exports = async (msg) => {
          while (!fs.existsSync(\(js(marker)))) await new Promise(r => setTimeout(r, 10));
          return msg.payload;
        };
        """
        _ = try await h.deployAndStart("""
        {"id": "slow", "modules": [
          {"id": "sink", "runtime": "node", "code": \(js(sink))}]}
        """)
        var accepted: [String] = []
        var refused = 0
        for i in 0..<200 {
            do {
                try await h.inject("slow", "sink", "\(i)")
                accepted.append("\(i)")
            } catch let error as RunnerError {
                #expect(error.code == .saturated)
                #expect(error.description.contains("retry later"))
                refused += 1
            }
        }
        #expect(refused > 0, "a fast producer meets back pressure")
        #expect(accepted.count <= 2 + 2 * 4, "at most the window and twice the queue bound were taken")
        #expect(FileManager.default.createFile(atPath: marker, contents: Data()))
        let expected = accepted
        try await h.recorder.wait(for: "every accepted message") { events in events.outputs("slow").count == expected.count }
        #expect(h.recorder.outputs("slow") == accepted, "everything accepted is delivered, in order")
        }
    }

    @Test func handlerExceptionIsRecordedAndTheFlowGoesOn() async throws {
        try await withRunner() { h in
        _ = try await h.deployAndStart("""
        {"id": "err", "modules": [
          {"id": "div", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    print('dividing', msg.payload)\n    return 10 / msg.payload\n"))},
          {"id": "check", "runtime": "node", "code": \(js("module.exports = (msg) => { if (msg.payload > 5) throw new Error('too big: ' + msg.payload); return msg.payload; }"))}],
         "connections": [{"from": "div.out", "to": "check.in"}]}
        """)
        for p in ["0", "1", "5"] { try await h.inject("err", "div", p) }
        try await h.recorder.wait(for: "one output and two errors") { events in
            events.outputs("err").count == 1 && events.errors("err").count == 2
        }
        #expect(h.recorder.outputs("err") == ["2"])
        let pyError = try #require(h.recorder.errors("err", "div").first)
        #expect(pyError.payload == .int(0))
        #expect(pyError.message.contains("ZeroDivisionError"))
        #expect(pyError.stack?.contains("line 3") == true)
        let jsError = try #require(h.recorder.errors("err", "check").first)
        #expect(jsError.payload == .int(10))
        #expect(jsError.message.contains("too big: 10"))
        try await h.recorder.wait(for: "print captured as a log") { events in events.logs("err").contains("dividing 0") }
        try await eventually("error counted") {
            let status = try await h.host.status(FlowID("err"))
            return status.modules.first { $0.id.rawValue == "div" }?.errors == 1
                && status.modules.first { $0.id.rawValue == "div" }?.lastError?.payload == .int(0)
        }
        }
    }

    @Test func codeThatDoesNotLoadIsRefusedAndTheOldVersionKeepsRunning() async throws {
        try await withRunner() { h in
        _ = try await h.deployAndStart("""
        {"id": "v", "modules": [{"id": "m", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    return 'v1'\n"))}]}
        """)
        let pidsBefore = try await h.host.pids(FlowID("v"))
        let broken = try RunnerHarness.flow("""
        {"id": "v", "modules": [{"id": "m", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    x = 1\n    return (v2\n"))},
                                {"id": "n", "runtime": "node", "code": \(js("exports.onMessage = (msg) => {\n  return msg +;\n};"))}]}
        """)
        do {
            try await h.host.deploy(broken)
            Issue.record("a flow whose code does not load was deployed")
        } catch let error as RunnerError {
            guard case .loadErrors(_, let errors, let updating) = error else { Issue.record("\(error)"); return }
            #expect(Set(errors.map(\.module.rawValue)) == ["m", "n"])
            #expect(errors.first { $0.module.rawValue == "m" }?.line == 3)
            #expect(errors.first { $0.module.rawValue == "n" }?.line == 2)
            #expect(error.description.contains("module \"m\" (python3) does not load at line 3"))
            #expect(updating)
            #expect(error.description.hasPrefix("flow \"v\" not updated (the deployed version is unchanged): "), "\(error)")
        }
        #expect(try await h.host.pids(FlowID("v")) == pidsBefore, "the running version was not touched")
        try await h.inject("v", "m", "null")
        try await h.recorder.wait(for: "v1 output") { events in events.outputs("v") == ["\"v1\""] }
        }
    }

    @Test func killedRuntimeIsRestartedAndNothingIsLostSilently() async throws {
        // Messages from 50 on wait in node until the marker file exists, so the kill
        // lands with messages in flight whatever the machine's speed; the restarted
        // process finds the marker and lets them through.
        let marker = NSTemporaryDirectory() + "polyflow-kill-\(UUID().uuidString.prefix(8))"
        defer { unlink(marker) }
        try await withRunner(window: 32) { h in
        let work = """
        const fs = require('fs');
        module.exports = async (msg) => {
          while (msg.payload >= 50 && !fs.existsSync(\(js(marker)))) await new Promise(r => setTimeout(r, 20));
          return msg.payload;
        };
        """
        _ = try await h.deployAndStart("""
        {"id": "crash", "modules": [
          {"id": "src", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    return msg.payload\n"))},
          {"id": "work", "runtime": "node", "code": \(js(work))}],
         "connections": [{"from": "src.out", "to": "work.in"}]}
        """)
        let status = try await h.host.status(FlowID("crash"))
        let nodePid = try #require(status.instances.first { $0.runtime == .node }?.pid)
        let total = 300
        for i in 0..<total { try await h.inject("crash", "src", "\(i)") }
        try await h.recorder.wait(for: "the first 50 outputs") { events in events.outputs("crash").count >= 50 }
        kill(nodePid, SIGKILL)
        #expect(FileManager.default.createFile(atPath: marker, contents: Data()))
        // An outside kill -9 costs no message: every one is delivered and none is
        // recorded as an error (the poison message is aMessageThatCrashesItsRuntimeIsTheOneRecorded).
        try await h.recorder.wait(for: "every message delivered", timeout: .seconds(60)) { Set($0.outputs("crash")).count == total }
        #expect(Set(h.recorder.outputs("crash")) == Set((0..<total).map { "\($0)" }))
        #expect(h.recorder.errors("crash").isEmpty, "\(h.recorder.errors("crash"))")
        try await eventually("node restarted with a new pid") {
            let node = try await h.host.status(FlowID("crash")).instances.first { $0.runtime == .node }
            return (node?.restarts ?? 0) >= 1 && node?.pid != nil && node?.pid != nodePid
        }
        #expect(!processAlive(nodePid))
        try await h.inject("crash", "src", "\"later\"")
        try await h.recorder.wait(for: "a later message") { events in events.outputs("crash").contains("\"later\"") }
        }
    }

    @Test func aMessageThatCrashesItsRuntimeIsTheOneRecorded() async throws {
        try await withRunner { h in
            _ = try await h.deployAndStart("""
            {"id": "poison", "modules": [
              {"id": "m", "runtime": "python3", "code": \(js("import os\ndef on_message(msg, ctx):\n    if msg.payload == 7:\n        os._exit(3)\n    return msg.payload\n"))}]}
            """)
            for i in 0..<20 { try await h.inject("poison", "m", "\(i)") }
            try await h.recorder.wait(for: "all but the poison delivered, the poison recorded") { events in
                Set(events.outputs("poison")).count == 19 && !events.errors("poison").isEmpty
            }
            #expect(Set(h.recorder.outputs("poison")) == Set((0..<20).filter { $0 != 7 }.map { "\($0)" }))
            let errors = h.recorder.errors("poison", "m")
            #expect(errors.map(\.payload) == [.int(7)], "exactly the message that crashed the runtime is blamed")
            #expect(errors.first?.message.contains("exited with status 3") == true, "\(errors)")
            let status = try await h.host.status(FlowID("poison"))
            #expect(status.instances[0].state == .ready)
            // Blamed only once alone in flight for a whole process life: two restarts when
            // it was the first of the messages delivered again one at a time, three when
            // others came before it (then it goes first in the next process).
            #expect((2...3).contains(status.instances[0].restarts), "\(status.instances[0].restarts)")
            #expect(status.modules[0].errors == 1)
        }
    }

    @Test func aCrashInOneFlowTouchesNoOther() async throws {
        try await withRunner() { h in
        let code = js("def on_message(msg, ctx):\n    return msg.payload\n")
        _ = try await h.deployAndStart(#"{"id": "a", "modules": [{"id": "m", "runtime": "python3", "code": \#(code)}]}"#)
        _ = try await h.deployAndStart(#"{"id": "b", "modules": [{"id": "m", "runtime": "python3", "code": \#(code)}]}"#)
        let a = try await h.host.pids(FlowID("a"))
        let b = try await h.host.pids(FlowID("b"))
        #expect(Set(a).isDisjoint(with: b))
        kill(a[0], SIGKILL)
        try await h.recorder.wait(for: "flow a restarted") { events in
            events.contains { if case .instanceState(let f, _, .ready, let pid, _, _) = $0 { return f.rawValue == "a" && pid != a[0] }; return false }
        }
        #expect(try await h.host.pids(FlowID("b")) == b)
        try await h.inject("b", "m", "1")
        try await h.recorder.wait(for: "b still works") { events in events.outputs("b") == ["1"] }
        }
    }

    @Test func stopAndRemoveLeaveNoProcessesOrFifos() async throws {
        try await withRunner() { h in
        _ = try await h.deployAndStart("""
        {"id": "life", "modules": [
          {"id": "count", "runtime": "node", "code": \(js("exports.onMessage = (msg, ctx) => { ctx.state.n = (ctx.state.n || 0) + 1; return ctx.state.n; }"))},
          {"id": "py", "runtime": "python3", "code": \(js("def on_message(msg, ctx):\n    return msg.payload\n"))}],
         "connections": [{"from": "count.out", "to": "py.in"}]}
        """)
        let pids = try await h.host.pids(FlowID("life"))
        #expect(pids.count == 2)
        #expect(h.fifoEntries.count == 2)
        try await h.inject("life", "count", "null")
        try await h.recorder.wait(for: "first count") { events in events.outputs("life") == ["1"] }

        try await h.host.stop(FlowID("life"))
        #expect(pids.allSatisfy { !processAlive($0) }, "stopped runtimes are reaped")
        #expect(h.fifoEntries.isEmpty, "fifos removed on stop")
        #expect(try await h.host.status(FlowID("life")).state == .stopped)
        do {
            try await h.inject("life", "count", "null")
            Issue.record("inject into a stopped flow was accepted")
        } catch let error as RunnerError { #expect(error.code == .flowNotRunning) }

        try await h.host.start(FlowID("life"))
        try await h.inject("life", "count", "null")
        try await h.recorder.wait(for: "count after restart") { events in events.outputs("life") == ["1", "2"] }

        let restarted = try await h.host.pids(FlowID("life"))
        try await h.host.remove(FlowID("life"))
        #expect(restarted.allSatisfy { !processAlive($0) })
        #expect(h.fifoEntries.isEmpty)
        do {
            _ = try await h.host.status(FlowID("life"))
            Issue.record("removed flow still has a status")
        } catch let error as RunnerError { #expect(error.code == .unknownFlow) }
        }
    }

    @Test func injectNamesWhatIsUnknown() async throws {
        try await withRunner() { h in
        _ = try await h.deployAndStart("""
        {"id": "inj", "modules": [{"id": "print", "runtime": "python3", "inputs": ["in", "other"], "code": \(js("def on_message(msg, ctx):\n    pass\n"))}]}
        """)
        await #expect(throws: RunnerError.unknownFlow(FlowID("nope"))) { try await h.inject("nope", "print", "1") }
        do { try await h.inject("inj", "prnt", "1"); Issue.record("accepted") } catch let e as RunnerError {
            #expect(e.code == .unknownModule)
            #expect(e.description.contains("did you mean \"print\""))
        }
        do { try await h.inject("inj", "print", "1", port: "othr"); Issue.record("accepted") } catch let e as RunnerError {
            #expect(e.code == .unknownPort)
            #expect(e.description.contains("did you mean \"other\""))
        }
        }
    }
}
