import FlowModel
import Foundation
import NIOConcurrencyHelpers
import Testing

/// Every way a module moves between runners, counted message by message
/// (docs/architecture.md, "Moves between runners"): a move that nothing forces
/// (a hot swap, a runner coming back) runs every message exactly once and
/// hands over the exact state; a move after a failure loses nothing and
/// delivers twice at most what `redelivered` counts.
@Suite(.timeLimit(.minutes(5))) struct MovesTests {
    static let gen = RunnersTests.gen
    static let sink = RunnersTests.sink

    static func chain(mid: JSONValue) -> JSONValue { RunnersTests.chain(mid: mid) }

    func deploy(_ server: PolyflowServer, _ flow: JSONValue) async throws {
        let reply = try await server.rpc("addOrUpdateFlow", ["flow": flow])
        #expect(reply["result"] == true, "\(reply)")
    }

    func outputs(_ tail: ChildProcess) -> [JSONValue] {
        tail.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8))["payload"] }
    }

    /// Every message of 0..<total at the sink; returns how many came twice.
    func countEvery(_ tail: ChildProcess, total: Int) async throws -> (outputs: [JSONValue], twice: Int) {
        try? await eventually("every message arrived", timeout: .seconds(90)) {
            Set(outputs(tail).compactMap { $0["seq"]?.intValue }).count >= total
        }
        let all = outputs(tail)
        let seqs = all.compactMap { $0["seq"]?.intValue }
        let missing = Set(0..<total).subtracting(seqs).sorted()
        #expect(missing.isEmpty, "\(missing.count) of \(total) lost, e.g. \(missing.prefix(10))")
        return (all, seqs.count - Set(seqs).count)
    }

    @Test func aModuleMovedBackAndForthByHotSwapsUnderLoadRunsEveryMessageOnceWithItsExactState() async throws {
        try await withRunners(serverArguments: ["--tags", "edge"], runners: [("gpu-1", ["gpu"])]) { server, _ in
            try await deploy(server, Self.chain(mid: RunnersTests.mid(tags: ["gpu"], tag: "m0")))
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            let perBatch = 100
            let stop = NIOLockedValueBox(false)
            let sender = steadyLoad(server, tail, perBatch: perBatch, stop: stop)
            // Four moves: gpu-1 → the embedded runner → gpu-1 → the embedded runner → gpu-1.
            for (i, place) in [("edge", "local"), ("gpu", "gpu-1"), ("edge", "local"), ("gpu", "gpu-1")].enumerated() {
                try await tail.waitForStdoutCount(tail.stdout.count + 2 * perBatch, timeout: .seconds(60))
                try await deploy(server, Self.chain(mid: RunnersTests.mid(tags: [place.0], tag: "m\(i + 1)")))
                #expect(try await server.runnersOfModules("span")["mid"] == place.1)
            }
            try await tail.waitForStdoutCount(tail.stdout.count + 2 * perBatch, timeout: .seconds(60))
            stop.withLockedValue { $0 = true }
            let total = try await sender.value * perBatch
            let (all, twice) = try await countEvery(tail, total: total)
            #expect(twice == 0, "a move nothing forced runs each message once: \(twice) of \(total) twice")
            // mid counts in ctx.state: each count from 1 to total exactly once, whatever runner it ran on.
            let counts = all.compactMap { $0["midCount"]?.intValue }
            let jumps = zip(all, all.dropFirst()).filter { $1["midCount"]?.intValue != ($0["midCount"]?.intValue ?? 0) + 1 }
                .map { "\($0["mid"]?.stringValue ?? "?") \($0["midCount"]?.intValue ?? 0) → \($1["mid"]?.stringValue ?? "?") \($1["midCount"]?.intValue ?? 0)" }
            #expect(counts.count == total && Set(counts) == Set(1...total),
                    "the state was handed over exactly: \(counts.count) counts, \(Set(counts).count) distinct, highest \(counts.max() ?? 0) of \(total); jumps \(jumps.prefix(8))")
            #expect(Set(all.compactMap { $0["mid"]?.stringValue }) == ["m0", "m1", "m2", "m3", "m4"])
            try await eventually("mid's state in getFlow", timeout: .seconds(10)) {
                try await server.status("span")["modules"]?.arrayValue?.first { $0["id"] == "mid" }?["moduleState"]?["n"]?.intValue == total
            }
            print("moves: 4 hot swaps moving mid under load: \(total) messages, \(twice) twice, state \(counts.max() ?? 0)")
        }
    }

    /// `src` (local) → `m1` (node) → `m2` (python3, 1.5 ms a message) → `sink` (local), with `m1`
    /// and `m2` on one joined runner and a backlog between them: what `m1` sent to `m2` keeps the
    /// frame that caused it unacknowledged until `m2` is done with it, so killing that runner
    /// (twice: it comes back in between and takes them again) loses nothing.
    @Test func aRunnerHostingTwoRuntimesOfAChainKilledUnderLoadLosesNothing() async throws {
        let flow: JSONValue = ["id": "span", "modules": [
            ["id": "gen", "runtime": "python3", "requireTags": ["edge"],
             "code": "def on_message(msg, ctx):\n    for i in range(msg.payload['start'], msg.payload['start'] + msg.payload['count']):\n        ctx.send('out', {'seq': i})\n"],
            ["id": "m1", "runtime": "node", "requireTags": ["pair"], "tags": ["first"],
             "code": "exports.onMessage = (msg, ctx) => ({ seq: msg.payload.seq, m1: true });"],
            ["id": "m2", "runtime": "python3", "requireTags": ["pair"], "tags": ["first"],
             "code": "import time\ndef on_message(msg, ctx):\n    time.sleep(0.0015)\n    return msg.payload\n"],
            ["id": "sink", "runtime": "python3", "requireTags": ["edge"], "code": "def on_message(msg, ctx):\n    return msg.payload\n"]],
            "connections": [["from": "gen.out", "to": "m1.in"], ["from": "m1.out", "to": "m2.in"], ["from": "m2.out", "to": "sink.in"]]]
        try await withRunners(serverArguments: ["--tags", "edge"], runners: [("spare", ["pair"])]) { server, runners in
            var first = try await JoinedRunner.start(joining: server, name: "first", tags: ["pair", "first"])
            let stop = NIOLockedValueBox(false)
            var sender: Task<Int, any Error>?
            do {
                try await deploy(server, flow)
                #expect(try await server.runnersOfModules("span")["m2"] == "first")
                let tail = try await server.tail("span")
                defer { Task { await tail.terminate() } }
                sender = steadyLoad(server, tail, perBatch: 100, stop: stop)
                for round in 0..<2 {
                    try await tail.waitForStdoutCount(tail.stdout.count + 300, timeout: .seconds(60))
                    first.process.signal(SIGKILL)
                    try await eventually("m1 and m2 on the spare runner", timeout: .seconds(30)) {
                        let places = try await server.runnersOfModules("span")
                        return places["m1"] == "spare" && places["m2"] == "spare"
                    }
                    try await tail.waitForStdoutCount(tail.stdout.count + 300, timeout: .seconds(60))
                    await first.stop()
                    if round == 0 {
                        first = try await JoinedRunner.start(joining: server, name: "first", tags: ["pair", "first"])
                        try await eventually("m1 and m2 back on first", timeout: .seconds(30)) {
                            let places = try await server.runnersOfModules("span")
                            return places["m1"] == "first" && places["m2"] == "first"
                        }
                    }
                }
                stop.withLockedValue { $0 = true }
                let total = try await sender!.value * 100
                let (all, twice) = try await countEvery(tail, total: total)
                if Set(all.compactMap { $0["seq"]?.intValue }).count < total {
                    for line in server.process.stderr + runners[0].process.stderr + first.process.stderr
                    where line.contains("warning") || line.contains("error") { print("log: \(line)") }
                }
                let redelivered = try await server.status("span")["redelivered"]?.objectValue?.values.compactMap(\.intValue).reduce(0, +) ?? 0
                #expect(twice <= redelivered, "\(twice) delivered twice, \(redelivered) counted as redelivered")
                print("moves: a runner with m1 and m2 killed twice under load: \(total) messages, \(twice) twice (redelivered \(redelivered))")
            } catch {
                stop.withLockedValue { $0 = true }
                _ = try? await sender?.value
                await first.stop()
                throw error
            }
        }
    }

    /// A stopped flow's final states are kept by the dispatcher at once: its runner dying right
    /// after the stop does not send the next start back to an older save.
    @Test func aRunnerKilledRightAfterStopFlowLeavesTheFinalStateForTheNextStart() async throws {
        try await withServer(extraArguments: ["--tags", "edge"]) { server in
            let runner = try await JoinedRunner.start(joining: server, name: "gpu-1", tags: ["gpu"])
            do {
                try await deploy(server, Self.chain(mid: RunnersTests.mid(tags: ["gpu"])))
                #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
                let tail = try await server.tail("span")
                defer { Task { await tail.terminate() } }
                let total = 1200
                for start in stride(from: 0, to: total, by: 200) {
                    let reply = try await server.rpc("inject", ["flowModuleId": "span/gen", "payload": ["start": .int(start), "count": 200]])
                    #expect(reply["result"] == true, "\(reply)")
                }
                try await tail.waitForStdoutCount(total, timeout: .seconds(60))
                #expect(try await server.rpc("stopFlow", ["flowId": "span"])["result"] == true)
                runner.process.signal(SIGKILL)
                try await eventually("mid on the embedded runner", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "local" }
                #expect(try await server.rpc("startFlow", ["flowId": "span"])["result"] == true)
                let mid = try await server.status("span")["modules"]?.arrayValue?.first { $0["id"] == "mid" }
                #expect(mid?["moduleState"]?["n"]?.intValue == total, "mid starts again from its final state: \(mid?["moduleState"] ?? nil)")
                let reply = try await server.rpc("inject", ["flowModuleId": "span/gen", "payload": ["start": .int(total), "count": 1]])
                #expect(reply["result"] == true)
                try await tail.waitForStdoutCount(total + 1, timeout: .seconds(30))
                let last = tail.stdout.last.flatMap { try? JSONValue(parsing: Data($0.utf8))["payload"] }
                #expect(last?["midCount"]?.intValue == total + 1)
            } catch {
                await runner.stop()
                throw error
            }
            await runner.stop()
        }
    }

    @Test func aModuleThatMovesBackToItsReturningRunnerLosesNothingAndItsStateGoesOn() async throws {
        try await withServer(extraArguments: ["--tags", "edge"]) { server in
            var runner = try await JoinedRunner.start(joining: server, name: "gpu-1", tags: ["gpu"])
            try await deploy(server, Self.chain(mid: RunnersTests.mid(tags: ["gpu"])))
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            let perBatch = 100
            let stop = NIOLockedValueBox(false)
            let sender = steadyLoad(server, tail, perBatch: perBatch, stop: stop)
            do {
                try await tail.waitForStdoutCount(3 * perBatch, timeout: .seconds(60))
                // A failure: gpu-1 dies; mid goes to the embedded runner.
                runner.process.signal(SIGKILL)
                try await eventually("mid on the embedded runner", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "local" }
                try await tail.waitForStdoutCount(tail.stdout.count + 2 * perBatch, timeout: .seconds(60))
                let seen = outputs(tail)
                let twiceBefore = seen.count - Set(seen.compactMap { $0["seq"]?.intValue }).count
                // gpu-1 comes back: mid moves back to it, which nothing forces.
                await runner.stop()
                runner = try await JoinedRunner.start(joining: server, name: "gpu-1", tags: ["gpu"])
                try await eventually("mid on gpu-1 again", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "gpu-1" }
                try await tail.waitForStdoutCount(tail.stdout.count + 3 * perBatch, timeout: .seconds(60))
                stop.withLockedValue { $0 = true }
                let total = try await sender.value * perBatch
                let (all, twice) = try await countEvery(tail, total: total)
                let redelivered = try await server.status("span")["redelivered"]?["mid"]?.intValue ?? 0
                #expect(twice <= redelivered, "\(twice) delivered twice, \(redelivered) counted as redelivered")
                // The move back was exact: no message twice after it, and the counts go on one by one from where they were.
                let seqs = all.compactMap { $0["seq"]?.intValue }
                #expect(seqs.count - Set(seqs).count == twiceBefore, "nothing twice after gpu-1 came back (\(twiceBefore) before, \(twice) in all)")
                let lastCounts = all.suffix(2 * perBatch).compactMap { $0["midCount"]?.intValue }
                #expect(zip(lastCounts, lastCounts.dropFirst()).allSatisfy { $1 == $0 + 1 }, "mid's count goes on one by one after the move back")
                print("moves: kill -9 then return of gpu-1 under load: \(total) messages, \(twice) twice (redelivered \(redelivered))")
            } catch {
                stop.withLockedValue { $0 = true }
                _ = try? await sender.value
                await runner.stop()
                throw error
            }
            await runner.stop()
        }
    }
}
