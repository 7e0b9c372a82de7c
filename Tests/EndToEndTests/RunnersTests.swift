import FlowModel
import Foundation
import NIOConcurrencyHelpers
import Testing

/// Flows spread over the embedded runner and `flowctl runner` processes that
/// join over WebSocket: placement by tags, cross-runner hops in order with
/// state kept, unplaced modules that wait, the debugger and hot swap across runners.
@Suite(.timeLimit(.minutes(4))) struct RunnersTests {
    static let gen: JSONValue = ["id": "gen", "runtime": "python3",
        "code": "def on_message(msg, ctx):\n    for i in range(msg.payload['start'], msg.payload['start'] + msg.payload['count']):\n        ctx.send('out', {'seq': i})\n"]

    static func mid(tags: [String] = [], requireTags: [String] = [], tag: String = "m") -> JSONValue {
        ["id": "mid", "runtime": "node", "tags": .array(tags.map { .string($0) }), "requireTags": .array(requireTags.map { .string($0) }),
         "code": .string("exports.onMessage = (msg, ctx) => { ctx.state.n = (ctx.state.n || 0) + 1; return { seq: msg.payload.seq, mid: '\(tag)', midCount: ctx.state.n }; };")]
    }

    static let sink: JSONValue = ["id": "sink", "runtime": "python3",
        "code": "def on_message(msg, ctx):\n    ctx.state['n'] = ctx.state.get('n', 0) + 1\n    return dict(msg.payload, sinkCount=ctx.state['n'])\n"]

    static func chain(mid: JSONValue) -> JSONValue {
        ["id": "span", "modules": [gen, mid, sink],
         "connections": [["from": "gen.out", "to": "mid.in"], ["from": "mid.out", "to": "sink.in"]]]
    }

    func deploy(_ server: PolyflowServer, _ flow: JSONValue) async throws {
        let reply = try await server.rpc("addOrUpdateFlow", ["flow": flow])
        #expect(reply["result"] == true, "\(reply)")
    }

    func inject(_ server: PolyflowServer, start: Int, count: Int) async throws {
        let reply = try await server.rpc("inject", ["flowModuleId": "span/gen", "payload": ["start": .int(start), "count": .int(count)]])
        #expect(reply["result"] == true, "\(reply)")
    }

    /// The `seq` of every output, in arrival order.
    func seqs(_ tail: ChildProcess) -> [Int] {
        tail.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8))["payload"]?["seq"]?.intValue }
    }

    @Test func aPythonNodePythonChainRunsAcrossTwoRunnersByTagsInOrderWithItsState() async throws {
        try await withRunners(runners: [("gpu-1", ["gpu"])]) { server, _ in
            try await deploy(server, Self.chain(mid: Self.mid(tags: ["gpu"])))
            #expect(try await server.runnersOfModules("span") == ["gen": "local", "mid": "gpu-1", "sink": "local"])
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            for batch in 0..<4 { try await inject(server, start: batch * 250, count: 250) }
            try await tail.waitForStdoutCount(1000, timeout: .seconds(60))
            #expect(seqs(tail) == Array(0..<1000))
            let last = try JSONValue(parsing: Data(tail.stdout.last!.utf8))["payload"]
            #expect(last?["midCount"] == 1000)
            #expect(last?["sinkCount"] == 1000)
            let runners = try await server.rpc("listRunners")["result"]?.arrayValue ?? []
            let gpu = runners.first { $0["id"] == "gpu-1" }
            #expect(gpu?["state"] == "live")
            #expect(gpu?["tags"] == ["gpu"])
            #expect(gpu?["modules"] == ["span/mid"])
            #expect(gpu?["lastSeenMs"]?.intValue.map { $0 < 5000 } == true)
            let runtimes = try await server.rpc("listRuntimes")["result"]?.arrayValue ?? []
            let node = runtimes.first { $0["id"] == "node" }
            #expect(Set(node?["runners"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []) == ["local", "gpu-1"])
            let flow = try await server.status("span")
            #expect(flow["status"] == "running")
            let midStatus = flow["modules"]?.arrayValue?.first { $0["id"] == "mid" }
            #expect(midStatus?["messagesIn"] == 1000)
            #expect(midStatus?["moduleState"]?["n"] == 1000)
            #expect(flow["instances"]?.arrayValue?.contains { $0["runner"] == "gpu-1" && $0["runtime"] == "node" } == true)
        }
    }

    @Test func fanOutAndFanInAcrossThreeRunnersKeepOrderPerSenderAndReceiver() async throws {
        // No embedded runner: every module runs on a joined runner.
        try await withRunners(serverArguments: ["--no-local-runner"], runners: [("a", ["a"]), ("b", ["b"]), ("c", ["c"])]) { server, _ in
            let flow: JSONValue = [
                "id": "fan", "modules": [
                    ["id": "src", "runtime": "python3", "tags": ["a"],
                     "code": "def on_message(msg, ctx):\n    for i in range(msg.payload['count']):\n        ctx.send('out', {'seq': i})\n"],
                    ["id": "left", "runtime": "node", "tags": ["b"],
                     "code": "exports.onMessage = (msg) => ({ seq: msg.payload.seq, via: 'left' });"],
                    ["id": "right", "runtime": "python3", "tags": ["c"],
                     "code": "def on_message(msg, ctx):\n    return {'seq': msg.payload['seq'], 'via': 'right'}\n"],
                    ["id": "join", "runtime": "node", "tags": ["a"],
                     "code": "exports.onMessage = (msg, ctx) => { ctx.state.n = (ctx.state.n || 0) + 1; return Object.assign({ n: ctx.state.n }, msg.payload); };"],
                ],
                "connections": [["from": "src.out", "to": "left.in"], ["from": "src.out", "to": "right.in"],
                                ["from": "left.out", "to": "join.in"], ["from": "right.out", "to": "join.in"]],
            ]
            let reply = try await server.rpc("addOrUpdateFlow", ["flow": flow])
            #expect(reply["result"] == true, "\(reply)")
            #expect(try await server.runnersOfModules("fan") == ["src": "a", "left": "b", "right": "c", "join": "a"])
            let tail = try await server.tail("fan")
            defer { Task { await tail.terminate() } }
            _ = try await server.rpc("inject", ["flowModuleId": "fan/src", "payload": ["count": 500]])
            try await tail.waitForStdoutCount(1000, timeout: .seconds(60))
            let outputs = tail.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8))["payload"] }
            for via in ["left", "right"] {
                #expect(outputs.filter { $0["via"]?.stringValue == via }.compactMap { $0["seq"]?.intValue } == Array(0..<500), "order from \(via)")
            }
            #expect(outputs.last?["n"] == 1000)
        }
    }

    @Test func tagsFallBackToAnyRunnerAndRequireTagsWaitUnplacedUntilARunnerJoins() async throws {
        try await withServer { server in
            // No runner with "gpu": a preference falls back to the embedded runner...
            try await deploy(server, Self.chain(mid: Self.mid(tags: ["gpu"])))
            #expect(try await server.runnersOfModules("span") == ["gen": "local", "mid": "local", "sink": "local"])
            _ = try await server.rpc("removeFlow", ["flowId": "span"])
            // ...a requirement does not: the module waits, and so do its messages.
            try await deploy(server, Self.chain(mid: Self.mid(requireTags: ["gpu"])))
            let degraded = try await server.status("span")
            #expect(degraded["status"] == "degraded")
            #expect(degraded["reason"]?.stringValue?.contains("no node runner has all of the required tags \"gpu\"; start one with --tags gpu") == true, "\(degraded)")
            #expect(try await server.runnersOfModules("span")["mid"] == "unplaced")
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            try await inject(server, start: 0, count: 100)
            try await eventually("gen ran") { try await server.status("span")["modules"]?.arrayValue?.first { $0["id"] == "gen" }?["messagesIn"] == 1 }
            #expect(tail.stdout.isEmpty)
            // getFlow says how many wait for it (held by gen's runner).
            try await eventually("100 wait for mid") {
                try await server.status("span")["modules"]?.arrayValue?.first { $0["id"] == "mid" }?["waiting"] == 100
            }
            let runner = try await JoinedRunner.start(joining: server, name: "gpu-1", tags: ["gpu"])
            defer { Task { await runner.stop() } }
            try await tail.waitForStdoutCount(100, timeout: .seconds(60))
            #expect(seqs(tail) == Array(0..<100))
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            try await eventually("the flow runs") { try await server.status("span")["status"] == "running" }
            await runner.stop()
        }
    }

    @Test func aBreakpointOnARemoteModulePausesTheFlowAndAStepReturnsItsResult() async throws {
        try await withRunners(runners: [("gpu-1", ["gpu"])]) { server, _ in
            try await deploy(server, Self.chain(mid: Self.mid(tags: ["gpu"])))
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            #expect(try await server.rpc("setBreakPointAtModule", ["flowModuleId": "span/mid"])["result"] == true)
            try await inject(server, start: 0, count: 5)
            try await eventually("the flow pauses") { try await server.status("span")["status"] == "paused" }
            #expect(tail.stdout.isEmpty)
            let step = try await server.rpc("singleStepFlow", ["flowId": "span"])["result"]
            let mid = step?["span/mid"]
            #expect(mid?["inputStates"]?["in"]?["seq"] == 0, "\(String(describing: step))")
            #expect(mid?["outputStates"]?["out"]?.arrayValue?.first?["midCount"] == 1, "\(String(describing: step))")
            #expect(mid?["state"]?["n"] == 1)
            // One tick of the whole flow: mid's output crossed to the embedded runner, where sink runs it in the next step.
            #expect(step?["span/sink"] == nil, "sink ran in the step that produced its input: \(String(describing: step))")
            let next = try await server.rpc("singleStepFlow", ["flowId": "span"])["result"]
            #expect(next?["span/sink"]?["inputStates"]?["in"]?["midCount"] == 1, "\(String(describing: next))")
            #expect(next?["span/mid"]?["inputStates"]?["in"]?["seq"] == 1, "\(String(describing: next))")
            #expect(try await server.rpc("removeBreakPointAtModule", ["flowModuleId": "span/mid"])["result"] == true)
            _ = try await server.rpc("resumeFlow", ["flowId": "span"])
            try await tail.waitForStdoutCount(5, timeout: .seconds(30))
            #expect(seqs(tail) == Array(0..<5))
        }
    }

    @Test func aHotSwapThatChangesTagsMovesAModuleToAnotherRunnerUnderLoadWithItsState() async throws {
        try await withRunners(serverArguments: ["--tags", "edge"], runners: [("gpu-1", ["gpu"])]) { server, _ in
            try await deploy(server, Self.chain(mid: Self.mid(tags: ["gpu"], tag: "m1")))
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            let perBatch = 200
            let stop = NIOLockedValueBox(false)
            let load = steadyLoad(server, tail, perBatch: perBatch, stop: stop)
            try await tail.waitForStdoutCount(2 * perBatch, timeout: .seconds(60))
            try await deploy(server, Self.chain(mid: Self.mid(tags: ["edge"], tag: "m2")))
            #expect(try await server.runnersOfModules("span")["mid"] == "local")
            try await tail.waitForStdoutCount(tail.stdout.count + 2 * perBatch, timeout: .seconds(60))
            stop.withLockedValue { $0 = true }
            let total = try await load.value * perBatch
            // Duplicates count in the tail, so wait for every seq, not for a number of lines.
            try? await eventually("every message arrived", timeout: .seconds(90)) { Set(seqs(tail)).count >= total }
            let outputs = tail.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8))["payload"] }
            // A move nothing forces is exact: every message arrived once (MovesTests counts it move by move).
            let missing = Set(0..<total).subtracting(outputs.compactMap { $0["seq"]?.intValue }).sorted()
            #expect(missing.isEmpty, "\(missing.count) of \(total) missing, e.g. \(missing.prefix(20)); \(outputs.count) outputs")
            #expect(outputs.last?["mid"] == "m2")
            #expect(outputs.count == total, "\(outputs.count - total) delivered twice")
            // The state came along: the count goes on from where the module left gpu-1, one by one.
            let m1 = outputs.filter { $0["mid"] == "m1" }.compactMap { $0["midCount"]?.intValue }
            let m2 = outputs.filter { $0["mid"] == "m2" }.compactMap { $0["midCount"]?.intValue }
            #expect(m2.first == (m1.max() ?? 0) + 1, "the moved module started from its exact state: m1 up to \(m1.max() ?? 0), m2 from \(m2.prefix(3))")
        }
    }

    @Test func aRunnerThatLeavesGivesItsModulesBackAndTakesThemAgainWhenItReturns() async throws {
        try await withServer { server in
            var runner = try await JoinedRunner.start(joining: server, name: "gpu-1", tags: ["gpu"])
            try await deploy(server, Self.chain(mid: Self.mid(tags: ["gpu"])))
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            try await inject(server, start: 0, count: 300)
            try await eventually("the first 300", timeout: .seconds(60)) { Set(seqs(tail)).count >= 300 }
            await runner.stop()
            try await eventually("mid back on the embedded runner", timeout: .seconds(30)) {
                try await server.runnersOfModules("span")["mid"] == "local"
            }
            let lost = try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "gpu-1" }
            #expect(lost?["state"] == "lost")
            #expect(lost?["reason"] != nil)
            try await inject(server, start: 300, count: 300)
            try await eventually("600", timeout: .seconds(60)) { Set(seqs(tail)).count >= 600 }
            runner = try await JoinedRunner.start(joining: server, name: "gpu-1", tags: ["gpu"])
            try await eventually("mid on gpu-1 again", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "gpu-1" }
            try await inject(server, start: 600, count: 300)
            try await eventually("900", timeout: .seconds(60)) { Set(seqs(tail)).count >= 900 }
            #expect(Set(seqs(tail)) == Set(0..<900))
            await runner.stop()
        }
    }
}
