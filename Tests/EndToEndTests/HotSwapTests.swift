import FlowModel
import Foundation
import NIOConcurrencyHelpers
import Testing

/// Hot swap under load: a python → node → python flow keeps every message
/// (exactly once, in order) and every state across several code swaps.
@Suite(.timeLimit(.minutes(4))) struct HotSwapTests {
    static func gen() -> JSONValue {
        ["id": "gen", "runtime": "python3",
         "code": "def on_message(msg, ctx):\n    for i in range(msg.payload['start'], msg.payload['start'] + msg.payload['count']):\n        ctx.send('out', {'seq': i})\n"]
    }

    static func mid(_ tag: String, runtime: String = "node") -> JSONValue {
        if runtime == "node" {
            return ["id": "mid", "runtime": "node",
                    "code": .string("exports.onMessage = (msg, ctx) => { ctx.state.n = (ctx.state.n || 0) + 1; return { seq: msg.payload.seq, mid: '\(tag)', midCount: ctx.state.n }; };")]
        }
        return ["id": "mid", "runtime": "python3",
                "code": .string("def on_message(msg, ctx):\n    ctx.state['n'] = ctx.state.get('n', 0) + 1\n    return {'seq': msg.payload['seq'], 'mid': '\(tag)', 'midCount': ctx.state['n']}\n")]
    }

    static func sink(_ tag: String, extra: String = "") -> JSONValue {
        ["id": "sink", "runtime": "python3",
         "code": .string("\(extra)def on_message(msg, ctx):\n    ctx.state['n'] = ctx.state.get('n', 0) + 1\n    return dict(msg.payload, sink='\(tag)', sinkCount=ctx.state['n'])\n")]
    }

    static func flow(mid: JSONValue, sink: JSONValue) -> JSONValue {
        ["id": "swap", "modules": [gen(), mid, sink],
         "connections": [["from": "gen.out", "to": "mid.in"], ["from": "mid.out", "to": "sink.in"]]]
    }

    func deploy(_ server: PolyflowServer, _ flow: JSONValue) async throws -> JSONValue {
        try await server.rpc("addOrUpdateFlow", ["flow": flow])
    }

    @Test func swapsUnderLoadLoseNothingKeepStateAndTakeEffect() async throws {
        try await withServer { server in
            #expect(try await deploy(server, Self.flow(mid: Self.mid("m1"), sink: Self.sink("s1")))["result"] == true)
            let pids = try await server.pids("swap")
            #expect(pids.count == 2)
            let perBatch = 200
            let tail = try ChildProcess(Repo.flowctl, ["tail", "swap", "--events", "output"], environment: ["FLOWCTL_SERVER": server.url])
            var total = 0
            do {
                try await tail.waitForStderr("subscribed") { $0.contains("following") }
                // Load in the background, batch after batch, while the code changes underneath.
                let stop = NIOLockedValueBox(false)
                let load = Task { () -> Int in
                    var batches = 0
                    while !stop.withLockedValue({ $0 }) {
                        // Keep a few thousand messages in flight, not an ever-growing backlog.
                        try await tail.waitForStdoutCount(max(0, (batches - 10) * perBatch), timeout: .seconds(60))
                        _ = try await server.rpc("inject", ["flowModuleId": "swap/gen", "payload": ["start": .int(batches * perBatch), "count": .int(perBatch)]])
                        batches += 1
                    }
                    return batches
                }
                /// Lets the current version handle a few batches.
                func progress() async throws { try await tail.waitForStdoutCount(tail.stdout.count + 2 * perBatch, timeout: .seconds(60)) }
                try await progress()
                #expect(try await deploy(server, Self.flow(mid: Self.mid("m2"), sink: Self.sink("s1")))["result"] == true)
                try await progress()
                // A broken update is refused; the old code keeps serving.
                let broken = try await deploy(server, Self.flow(mid: Self.mid("m2"), sink: Self.sink("s9", extra: "x = (\n")))
                #expect(broken["error"]?["message"]?.stringValue?.contains("module \"sink\" (python3) does not load at line") == true, "\(broken)")
                #expect(try await deploy(server, Self.flow(mid: Self.mid("m3"), sink: Self.sink("s2")))["result"] == true)
                try await progress()
                // mid moves to Python with its state.
                #expect(try await deploy(server, Self.flow(mid: Self.mid("m4", runtime: "python3"), sink: Self.sink("s3")))["result"] == true)
                try await progress()
                stop.withLockedValue { $0 = true }
                total = try await load.value * perBatch
                try await tail.waitForStdoutCount(total, timeout: .seconds(90))
            } catch {
                await tail.terminate()
                throw error
            }
            await tail.terminate()
            let outs = try tail.stdout.map { try JSONValue(parsing: Data($0.utf8))["payload"] ?? .null }
            #expect(outs.count == total)
            #expect(firstDifference(outs.compactMap { $0["seq"]?.intValue }, Array(0..<total)) == nil, "every message exactly once, in order")
            #expect(firstDifference(outs.compactMap { $0["sinkCount"]?.intValue }, Array(1...total)) == nil, "sink's state never reset")
            #expect(firstDifference(outs.compactMap { $0["midCount"]?.intValue }, Array(1...total)) == nil,
                    "mid's state never reset, also across the move to Python")
            let midTags = outs.compactMap { $0["mid"]?.stringValue }
            #expect(midTags.first == "m1" && midTags.last == "m4")
            #expect(Set(midTags) == ["m1", "m2", "m3", "m4"])
            #expect(midTags == midTags.sorted(), "each version takes over from the previous one, never back")
            #expect(outs.last?["sink"] == "s3")
            #expect(!outs.contains { $0["sink"] == "s9" }, "the broken version never ran")
            let status = try await server.status("swap")
            #expect(status["revision"] == .int(4))
            let modules = try #require(status["modules"]?.arrayValue)
            #expect(modules.first { $0["id"] == "sink" }?["swaps"] == .int(2))
            #expect(modules.first { $0["id"] == "gen" }?["swaps"] == .int(0))
            #expect(modules.first { $0["id"] == "mid" }?["runtime"] == "python3")
            #expect(modules.first { $0["id"] == "mid" }?["codeHash"]?.stringValue?.count == 16)
            let serverLog = server.process.stderr.filter { $0.contains("warning") || $0.contains("error") }
            #expect(serverLog.isEmpty, "\(serverLog.prefix(5))")
            let after = try await server.pids("swap")
            #expect(after.count == 1, "only the Python instance is left")
            #expect(after.first == pids.first { p in (try? String(contentsOfFile: "/proc/\(p)/cmdline", encoding: .utf8))?.contains("python") == true },
                    "the Python process was never restarted")
        }
    }

    @Test func removedModulesDrainAndAddedOnesStart() async throws {
        try await withServer { server in
            // gen and slow share the Python instance: gen's one turn hands all
            // 300 messages to slow's inbox at once, so every one of them is
            // queued for slow before the swap. slow stamps each output with the
            // time it processed it, and counts its progress in a file: its
            // outputs leave the runtime only when its turn ends, so they cannot
            // tell the test that slow is still busy; the file can.
            let progress = tempDirectory("drain") + "/progress"
            defer { try? FileManager.default.removeItem(atPath: (progress as NSString).deletingLastPathComponent) }
            let slow: JSONValue = ["id": "slow", "runtime": "python3", "code": .string("""
            import time
            def on_message(msg, ctx):
                time.sleep(0.03)
                with open(\(JSONValue.string(progress).jsonText), 'a') as f:
                    f.write('x')
                return dict(msg.payload, via='slow', at=time.time())
            """)]
            let end: JSONValue = ["id": "end", "runtime": "node", "code": "module.exports = (msg) => msg.payload"]
            let first: JSONValue = ["id": "drain", "modules": [Self.gen(), slow, end],
                                    "connections": [["from": "gen.out", "to": "slow.in"], ["from": "slow.out", "to": "end.in"]]]
            #expect(try await deploy(server, first)["result"] == true)
            let tail = try ChildProcess(Repo.flowctl, ["tail", "drain", "--events", "output,swap", "--count", "401"],
                                        environment: ["FLOWCTL_SERVER": server.url])
            var swapRequestedAt = 0.0
            do {
                try await tail.waitForStderr("subscribed") { $0.contains("following") }
                _ = try await server.rpc("inject", ["flowModuleId": "drain/gen", "payload": ["start": 0, "count": 300]])
                // slow has done 20 of its 300 (about 9 s of work): 280 are still queued for it.
                try await eventually("slow under way") {
                    ((try? FileManager.default.attributesOfItem(atPath: progress))?[.size] as? NSNumber)?.intValue ?? 0 >= 20
                }
                // Remove "slow" while messages are queued for it; "fast" takes its place.
                let fast: JSONValue = ["id": "fast", "runtime": "node", "code": "module.exports = (msg) => ({ ...msg.payload, via: 'fast' })"]
                let second: JSONValue = ["id": "drain", "modules": [Self.gen(), fast, end],
                                         "connections": [["from": "gen.out", "to": "fast.in"], ["from": "fast.out", "to": "end.in"]]]
                swapRequestedAt = Date().timeIntervalSince1970
                #expect(try await deploy(server, second)["result"] == true)
                _ = try await server.rpc("inject", ["flowModuleId": "drain/gen", "payload": ["start": 300, "count": 100]])
                #expect(try await tail.waitForExit(timeout: .seconds(60)) == 0)
            } catch {
                await tail.terminate()
                throw error
            }
            let events = try tail.stdout.map { try JSONValue(parsing: Data($0.utf8)) }
            let swapped = try #require(events.first { $0["type"] == "swapped" })
            #expect(swapped["removed"] == ["slow"])
            #expect(swapped["added"] == ["fast"])
            #expect(swapped["revision"] == .int(2))
            let outs = events.filter { $0["type"] == "output" }.compactMap { $0["payload"] }
            #expect(outs.compactMap { $0["seq"]?.intValue }.sorted() == Array(0..<400), "nothing lost, nothing twice")
            let viaSlow = outs.filter { $0["via"] == "slow" }.compactMap { $0["seq"]?.intValue }
            let viaFast = outs.filter { $0["via"] == "fast" }.compactMap { $0["seq"]?.intValue }
            #expect(firstDifference(viaSlow, Array(0..<300)) == nil, "slow processed everything queued for it, in order, before it went")
            #expect(firstDifference(viaFast, Array(300..<400)) == nil, "fast got only what was sent after the swap")
            // The drain is real: slow still had messages queued when the swap was asked for.
            let lastBySlow = outs.filter { $0["via"] == "slow" }.compactMap { o -> Double? in
                if case .double(let d)? = o["at"] { return d } else { return nil }
            }.max() ?? 0
            #expect(lastBySlow > swapRequestedAt, "slow had finished its queue before the swap; the drain was not tested")
        }
    }
}

extension HotSwapTests {
    @Test func aPausedFlowStaysPausedAcrossASwapWithItsQueuesAndBreakpoints() async throws {
        try await withServer { server in
            #expect(try await deploy(server, Self.flow(mid: Self.mid("m1"), sink: Self.sink("s1")))["result"] == true)
            #expect(try await server.rpc("setBreakPointAtModule", ["flowModuleId": "swap/mid"])["result"] == true)
            _ = try await server.rpc("inject", ["flowModuleId": "swap/gen", "payload": ["start": 0, "count": 3]])
            try await eventually("paused") { try await server.status("swap")["status"] == "paused" }
            #expect(try await deploy(server, Self.flow(mid: Self.mid("m2"), sink: Self.sink("s2")))["result"] == true)
            let status = try await server.status("swap")
            #expect(status["status"] == "paused")
            #expect(status["breakpoints"] == [["module": "mid"]])
            let mid = try #require(status["modules"]?.arrayValue?.first { $0["id"] == "mid" })
            #expect(mid["queued"] == .int(3))
            #expect(mid["swaps"] == .int(1))
            let step = try await server.rpc("singleStepFlow", ["flowId": "swap"])
            #expect(step["result"]?["swap/mid"]?["outputStates"] == ["out": [["seq": 0, "mid": "m2", "midCount": 1]]], "the new code handles the held message")
            #expect(try await server.rpc("resumeFlow", ["flowId": "swap"])["result"] == true)
        }
    }
}

/// Where two long lists first differ, as a short readable note (nil when equal).
func firstDifference(_ got: [Int], _ expected: [Int]) -> String? {
    if got == expected { return nil }
    let i = zip(got.indices, zip(got, expected)).first { $0.1.0 != $0.1.1 }?.0 ?? min(got.count, expected.count)
    let around = { (a: [Int]) in Array(a[max(0, i - 3)..<min(a.count, i + 4)]) }
    return "at \(i) of \(expected.count) (got \(got.count)): got \(around(got)), expected \(around(expected))"
}

extension HotSwapTests {
    @Test func configChangesAndOnSwapHooksMigrateStateAndStaleRevisionsAreRefused() async throws {
        try await withServer { server in
            func flow(_ code: String, config: JSONValue) -> JSONValue {
                ["id": "cfg", "modules": [["id": "m", "runtime": "node", "code": .string(code), "config": config]]]
            }
            let v1 = "exports.onMessage = (msg, ctx) => { ctx.state.count = (ctx.state.count || 0) + 1; return { label: ctx.config.label, count: ctx.state.count }; };"
            let v2 = """
            exports.onSwap = (old, ctx) => ({ seen: old.count * 10 });
            exports.onMessage = (msg, ctx) => { ctx.state.seen += 1; return { label: ctx.config.label, seen: ctx.state.seen }; };
            """
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": flow(v1, config: ["label": "one"])])["result"] == true)
            let tail = try ChildProcess(Repo.flowctl, ["tail", "cfg", "--events", "output", "--count", "3"], environment: ["FLOWCTL_SERVER": server.url])
            do {
                try await tail.waitForStderr("subscribed") { $0.contains("following") }
                _ = try await server.rpc("inject", ["flowModuleId": "cfg/m", "payload": 1])
                try await tail.waitForStdoutCount(1)
                // Same code, new config.
                #expect(try await server.rpc("addOrUpdateFlow", ["flow": flow(v1, config: ["label": "two"])])["result"] == true)
                _ = try await server.rpc("inject", ["flowModuleId": "cfg/m", "payload": 1])
                try await tail.waitForStdoutCount(2)
                // New code whose onSwap migrates the state; and a stale revision is refused.
                let stale = try await server.rpc("addOrUpdateFlow", ["flow": flow(v2, config: ["label": "three"]), "expectedRevision": 1])
                #expect(stale["error"]?["code"] == .int(-32001), "\(stale)")
                #expect(stale["error"]?["message"]?.stringValue?.contains("revision 2, not 1") == true)
                #expect(try await server.rpc("addOrUpdateFlow", ["flow": flow(v2, config: ["label": "three"]), "expectedRevision": 2])["result"] == true)
                _ = try await server.rpc("inject", ["flowModuleId": "cfg/m", "payload": 1])
                #expect(try await tail.waitForExit() == 0)
            } catch {
                await tail.terminate()
                throw error
            }
            let outs = try tail.stdout.map { try JSONValue(parsing: Data($0.utf8))["payload"] ?? .null }
            #expect(outs == [["label": "one", "count": 1], ["label": "two", "count": 2], ["label": "three", "seen": 21]])
        }
    }
}
