import FlowModel
import Foundation
import NIOConcurrencyHelpers
import Testing

/// Runners that die, and a dispatcher that dies, under load: nothing injected is lost.
@Suite(.timeLimit(.minutes(5))) struct FailoverTests {
    let chain = RunnersTests.chain(mid: RunnersTests.mid(tags: ["gpu"]))

    func seqs(_ tail: ChildProcess) -> [Int] {
        tail.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8))["payload"]?["seq"]?.intValue }
    }

    func inject(_ server: PolyflowServer, start: Int, count: Int) async throws {
        let reply = try await server.rpc("inject", ["flowModuleId": "span/gen", "payload": ["start": .int(start), "count": .int(count)]])
        #expect(reply["result"] == true, "\(reply)")
    }

    @Test func killMinus9OfARunnerUnderLoadMovesItsModulesAndLosesNothing() async throws {
        try await withRunners(runners: [("gpu-1", ["gpu"]), ("gpu-2", ["gpu"])]) { server, runners in
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": chain])["result"] == true)
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            let states = try ChildProcess(Repo.flowctl, ["tail", "--events", "state"], environment: ["FLOWCTL_SERVER": server.url])
            defer { Task { await states.terminate() } }
            try await states.waitForStderr("subscribed") { $0.contains("following") }
            let perBatch = 200
            let stop = NIOLockedValueBox(false)
            let load = Task { () -> Int in
                var batches = 0
                while !stop.withLockedValue({ $0 }) {
                    try await eventually("the flow keeps up", timeout: .seconds(60)) { Set(seqs(tail)).count >= (batches - 5) * perBatch }
                    try await inject(server, start: batches * perBatch, count: perBatch)
                    batches += 1
                }
                return batches
            }
            try await eventually("load flows", timeout: .seconds(60)) { Set(seqs(tail)).count >= 3 * perBatch }
            let before = tail.stdout.count
            let killed = ContinuousClock.now
            runners[0].process.signal(SIGKILL)
            try await eventually("mid moves to gpu-2", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "gpu-2" }
            try await eventually("outputs again", timeout: .seconds(60)) { tail.stdout.count > before + perBatch }
            let recovered = ContinuousClock.now - killed
            stop.withLockedValue { $0 = true }
            let total = try await load.value * perBatch
            try? await eventually("every message", timeout: .seconds(90)) { Set(seqs(tail)).count >= total }
            let missing = Set(0..<total).subtracting(seqs(tail)).sorted()
            #expect(missing.isEmpty, "\(missing.count) of \(total) lost, e.g. \(missing.prefix(10))")
            let lost = try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "gpu-1" }
            #expect(lost?["state"] == "lost")
            // Subscribers hear of it: a runnerState event with the reason.
            let event = states.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8)) }.first { $0["type"] == "runnerState" && $0["runner"] == "gpu-1" }
            #expect(event?["state"] == "lost", "\(states.stdout.suffix(5))")
            #expect(event?["reason"]?.stringValue?.isEmpty == false)
            print("failover: kill -9 of gpu-1 → outputs again after \(recovered); \(seqs(tail).count - total) delivered twice of \(total)")
        }
    }

    @Test func killMinus9OfTheDispatcherWithTwoRunnersJoinedThenTheyReconnectAndTheFlowRunsAgain() async throws {
        let state = tempDirectory("failover-state")
        let first = try await PolyflowServer.start(stateDirectory: state)
        let port = Int(first.url.split(separator: ":").last!)!
        var runners: [JoinedRunner] = []
        var second: PolyflowServer?
        do {
            runners.append(try await JoinedRunner.start(joining: first, name: "gpu-1", tags: ["gpu"]))
            runners.append(try await JoinedRunner.start(joining: first, name: "cpu-1", tags: ["cpu"]))
            #expect(try await first.rpc("addOrUpdateFlow", ["flow": chain])["result"] == true)
            #expect(try await first.runnersOfModules("span")["mid"] == "gpu-1")
            first.process.signal(SIGKILL)
            _ = try await first.process.waitForExit()
            second = try await PolyflowServer.start(stateDirectory: state, runtimeDirectory: first.runtimeDirectory, port: port)
            let server = second!
            try await eventually("both runners are back", timeout: .seconds(30)) {
                let list = try await server.rpc("listRunners")["result"]?.arrayValue ?? []
                return ["gpu-1", "cpu-1"].allSatisfy { id in list.contains { $0["id"]?.stringValue == id && $0["state"] == "live" } }
            }
            try await eventually("mid on gpu-1 again", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "gpu-1" }
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            try await inject(server, start: 0, count: 100)
            try await eventually("the flow runs again", timeout: .seconds(60)) { Set(seqs(tail)) == Set(0..<100) }
        } catch {
            for r in runners { await r.stop() }
            await second?.cleanUp()
            await first.cleanUp()
            throw error
        }
        for r in runners { await r.stop() }
        await second?.cleanUp()
        await first.cleanUp()
    }

    @Test func aRunnerThatJoinsAndLeaves20TimesUnderLoadLosesNothingAndLeavesNothingBehind() async throws {
        try await withServer { server in
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": chain])["result"] == true)
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            let perRound = 50
            for round in 0..<20 {
                let runner = try await JoinedRunner.start(joining: server, name: "gpu-1", tags: ["gpu"])
                try await eventually("mid on gpu-1 (round \(round))", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "gpu-1" }
                try await inject(server, start: round * perRound, count: perRound)
                await runner.stopProcess()
                #expect(runner.process.exitStatus == 0, "round \(round): the runner exits cleanly on SIGTERM")
                #expect(runner.fifoLeftovers().isEmpty, "round \(round): \(runner.fifoLeftovers())")
                await runner.stop()
                try await eventually("mid back on local (round \(round))", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "local" }
            }
            let total = 20 * perRound
            try await eventually("every message", timeout: .seconds(90)) { Set(seqs(tail)).count >= total }
            #expect(Set(seqs(tail)) == Set(0..<total))
        }
    }

    @Test func aPartitionIsDetectedByHeartbeatsAndTheReturningRunnerRunsNothingOfTheModulesThatMoved() async throws {
        try await withServer { server in
            let serverPort = server.url.split(separator: ":").last.map(String.init)!
            let proxy = try ChildProcess("/usr/bin/env", ["python3", Repo.root + "/Tests/Fixtures/tcp_proxy.py", serverPort])
            defer { Task { await proxy.terminate() } }
            let line = try await proxy.waitForStdout("the proxy's port") { $0.contains("port") }
            let proxyPort = try JSONValue(parsing: Data(line.utf8))["port"]!.intValue!
            let runner = try await JoinedRunner.start(joining: server, url: "http://127.0.0.1:\(proxyPort)", name: "gpu-1", tags: ["gpu"])
            defer { Task { await runner.stop() } }
            let flow: JSONValue = ["id": "span", "modules": [RunnersTests.gen,
                ["id": "mid", "runtime": "node", "tags": ["gpu"],
                 "code": "exports.onMessage = (msg) => ({ seq: msg.payload.seq, pid: process.pid });"]],
                "connections": [["from": "gen.out", "to": "mid.in"]]]
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": flow])["result"] == true)
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            func outputs() -> [JSONValue] { tail.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8))["payload"] } }
            try await inject(server, start: 0, count: 100)
            try await eventually("the first 100", timeout: .seconds(60)) { Set(seqs(tail)).count >= 100 }
            let oldPid = outputs().first?["pid"]
            proxy.signal(SIGUSR1)
            let cut = ContinuousClock.now
            try await eventually("gpu-1 lost", timeout: .seconds(20)) {
                try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "gpu-1" }?["state"] == "lost"
            }
            let detected = ContinuousClock.now - cut
            try await eventually("mid on local", timeout: .seconds(20)) { try await server.runnersOfModules("span")["mid"] == "local" }
            let byOldPid = outputs().filter { $0["pid"] == oldPid }.count
            try await inject(server, start: 100, count: 100)
            try await eventually("200", timeout: .seconds(60)) { Set(seqs(tail)).count >= 200 }
            proxy.signal(SIGUSR2)
            do {
                try await eventually("gpu-1 back", timeout: .seconds(30)) {
                    try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "gpu-1" }?["state"] == "live"
                }
            } catch {
                throw TimedOut(description: "\(error); the runner said: \(runner.process.stderr.suffix(8).joined(separator: " | "))")
            }
            try await eventually("mid on gpu-1 again", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "gpu-1" }
            try await inject(server, start: 200, count: 100)
            try await eventually("300", timeout: .seconds(60)) { Set(seqs(tail)).count >= 300 }
            #expect(Set(seqs(tail)) == Set(0..<300))
            // The runner that came back ran nothing of what had moved: its old process handled nothing more.
            #expect(outputs().filter { $0["pid"] == oldPid }.count == byOldPid)
            #expect(outputs().last?["pid"] != oldPid)
            // 3 s of silence on a quiet machine; a loaded test machine can take several more.
            #expect(detected < .seconds(30), "a partition is seen by the heartbeats (\(detected))")
            print("partition: detected after \(detected)")
        }
    }

    @Test func aRunnerLostWhilePausedLeavesTheFlowPausedAndItsHeldMessagesAreDeliveredAgain() async throws {
        try await withRunners(runners: [("gpu-1", ["gpu"]), ("gpu-2", ["gpu"])]) { server, runners in
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": chain])["result"] == true)
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            #expect(try await server.rpc("setBreakPointAtModule", ["flowModuleId": "span/mid"])["result"] == true)
            try await inject(server, start: 0, count: 5)
            try await eventually("paused at mid on gpu-1") { try await server.status("span")["status"] == "paused" }
            runners[0].process.signal(SIGKILL)
            try await eventually("mid on gpu-2", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "gpu-2" }
            // Still paused, every part of it; the 5 messages gpu-1 held are held again on gpu-2.
            do {
                try await eventually("paused, the held messages kept", timeout: .seconds(30)) {
                    let s = try await server.status("span")
                    let mid = s["modules"]?.arrayValue?.first { $0["id"] == "mid" }
                    return s["status"] == "paused" && mid?["queued"]?.intValue == 5
                }
            } catch {
                let s = try await server.status("span")
                throw TimedOut(description: "\(error): status \(s["status"] ?? .null), modules \(s["modules"]?.arrayValue?.map { "\($0["id"] ?? .null) \($0["runner"] ?? .null) \($0["state"] ?? .null) queued \($0["queued"] ?? .null) in \($0["messagesIn"] ?? .null)" } ?? [])")
            }
            #expect(tail.stdout.isEmpty)
            let step = try await server.rpc("singleStepFlow", ["flowId": "span"])["result"]
            #expect(step?["span/mid"]?["inputStates"]?["in"]?["seq"] == 0, "\(String(describing: step))")
            #expect(try await server.rpc("removeBreakPointAtModule", ["flowModuleId": "span/mid"])["result"] == true)
            _ = try await server.rpc("resumeFlow", ["flowId": "span"])
            try await eventually("all 5", timeout: .seconds(30)) { Set(seqs(tail)) == Set(0..<5) }
        }
    }
}
