import FlowModel
import Foundation
import NIOConcurrencyHelpers
import Testing

/// Runners that die under load: nothing injected is lost. A dispatcher that dies under load
/// (`kill -9`) comes back with its flows and runners; what was in flight through it then may be
/// lost (its inject stream and its embedded runner die with it: docs/architecture.md, "Known limits").
@Suite(.timeLimit(.minutes(5))) struct FailoverTests {
    let chain = RunnersTests.chain(mid: RunnersTests.mid(tags: ["gpu"]))

    /// gen (on the embedded runner, tag `home`) → mid (preferring `gpu`), where each message takes
    /// 20 ms and leaves a line in `journal`: which process ran it, and when.
    static func journaled(_ journal: String) -> JSONValue {
        let mid: JSONValue = ["id": "mid", "runtime": "python3", "tags": ["gpu"], "config": ["journal": .string(journal)],
            "code": "import os, time\ndef on_message(msg, ctx):\n    time.sleep(0.02)\n    with open(ctx.config['journal'], 'a') as f:\n        f.write('%d %f\\n' % (os.getpid(), time.time()))\n    return msg.payload\n"]
        guard case .object(var gen) = RunnersTests.gen else { return .null }
        gen["requireTags"] = ["home"]
        return ["id": "span", "modules": [.object(gen), mid], "connections": [["from": "gen.out", "to": "mid.in"]]]
    }

    static func journalLines(_ journal: String) -> [(pid: Int, at: Double)] {
        ((try? String(contentsOfFile: journal, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            let f = $0.split(separator: " ")
            guard f.count == 2, let pid = Int(f[0]), let at = Double(f[1]) else { return nil }
            return (pid, at)
        }
    }

    func seqs(_ tail: ChildProcess) -> [Int] {
        tail.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8))["payload"]?["seq"]?.intValue }
    }

    /// `Tests/Fixtures/tcp_proxy.py` in front of the server: SIGUSR1 holds it silent (a partition), SIGUSR2 heals it.
    func partitionProxy(to server: PolyflowServer) async throws -> (ChildProcess, port: Int) {
        let serverPort = server.url.split(separator: ":").last.map(String.init)!
        let proxy = try ChildProcess("/usr/bin/env", ["python3", Repo.root + "/Tests/Fixtures/tcp_proxy.py", serverPort])
        do {
            let line = try await proxy.waitForStdout("the proxy's port") { $0.contains("port") }
            return (proxy, try JSONValue(parsing: Data(line.utf8))["port"]!.intValue!)
        } catch {
            await proxy.terminate()
            throw error
        }
    }

    /// Messages delivered twice at the tail, checked against `redelivered` (its upper bound, summed over the flow's modules).
    func expectDuplicatesCounted(_ tail: ChildProcess, _ server: PolyflowServer, flow: String = "span",
                                 sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
        let all = seqs(tail)
        let twice = all.count - Set(all).count
        let redelivered = try await server.status(flow)["redelivered"]?.objectValue?.values.compactMap(\.intValue).reduce(0, +) ?? 0
        #expect(twice <= redelivered, "\(twice) delivered twice, \(redelivered) counted as redelivered", sourceLocation: sourceLocation)
        return twice
    }

    func inject(_ server: PolyflowServer, start: Int, count: Int) async throws {
        let reply = try await server.rpc("inject", ["flowModuleId": "span/gen", "payload": ["start": .int(start), "count": .int(count)]])
        #expect(reply["result"] == true, "\(reply)")
    }

    /// The runner's connection is cut five times under load (the proxy closes both ends; both
    /// processes stay alive): nothing is lost, and every message delivered twice is counted in
    /// `redelivered` (frames sent again on a new connection count too).
    @Test func connectionResetsUnderLoadLoseNothingAndEveryDuplicateIsCounted() async throws {
        // A 3 s heartbeat: the runner has 3 s to reconnect after each reset (a loaded CI machine can take over 1 s).
        try await withServer(extraArguments: ["--tags", "home", "--heartbeat", "3"]) { server in
            let (proxy, proxyPort) = try await partitionProxy(to: server)
            defer { Task { await proxy.terminate() } }
            let runner = try await JoinedRunner.start(joining: server, url: "http://127.0.0.1:\(proxyPort)", name: "gpu-1", tags: ["gpu"],
                                                      extraArguments: ["--heartbeat", "3"])
            defer { Task { await runner.stop() } }
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": chain])["result"] == true)
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            let perBatch = 200
            let stop = NIOLockedValueBox(false)
            let load = steadyLoad(server, tail, perBatch: perBatch, stop: stop)
            for round in 0..<5 {
                try await eventually("mid on gpu-1 (round \(round))", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "gpu-1" }
                try await tail.waitForStdoutCount(tail.stdout.count + perBatch, timeout: .seconds(60))
                proxy.signal(SIGUSR2)
            }
            try await tail.waitForStdoutCount(tail.stdout.count + 2 * perBatch, timeout: .seconds(60))
            stop.withLockedValue { $0 = true }
            let total = try await load.value * perBatch
            try? await eventually("every message", timeout: .seconds(90)) { Set(seqs(tail)).count >= total }
            let missing = Set(0..<total).subtracting(seqs(tail)).sorted()
            #expect(missing.isEmpty, "\(missing.count) of \(total) lost, e.g. \(missing.prefix(10))")
            let twice = try await expectDuplicatesCounted(tail, server)
            // The runner reconnected within its grace each time: mid stayed, with its runtime and live state
            // (each output carries mid's count; a move would make it fall back).
            // Outputs sent again by gpu-1 repeat a (seq, count) pair; a state that fell back would give one count to two seqs.
            let pairs = tail.stdout.compactMap { line -> (count: Int, seq: Int)? in
                guard let p = try? JSONValue(parsing: Data(line.utf8))["payload"], let c = p["midCount"]?.intValue, let s = p["seq"]?.intValue else { return nil }
                return (c, s)
            }
            let reused = Dictionary(grouping: pairs, by: \.count).filter { Set($0.value.map(\.seq)).count > 1 }
            let reusedCount = reused.count
            #expect(reusedCount == 0, "mid's live state was kept: \(reusedCount) counts given to two messages, e.g. \(reused.keys.sorted().prefix(5))")
            let counts = pairs.map(\.count)
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1", "mid stayed on gpu-1")
            print("resets: 5 connection resets under load: \(total) messages, \(twice) twice, mid's count \(counts.max() ?? 0)")
        }
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
            let load = steadyLoad(server, tail, perBatch: perBatch, stop: stop)
            try await eventually("load flows", timeout: .seconds(60)) { Set(seqs(tail)).count >= 3 * perBatch }
            // The rate now, for the bound on the moved state: what mid acknowledged in one heartbeat interval.
            let sampled = tail.stdout.count
            try await Task.sleep(for: .seconds(1))
            let perSecond = tail.stdout.count - sampled
            try await eventually("enough ran on gpu-1", timeout: .seconds(60)) { tail.stdout.count >= 2 * perSecond + 3 * perBatch }
            let before = tail.stdout.count
            // What mid counted on gpu-1 (it goes on from there once moved, as its state does).
            let countedBefore = try await server.status("span")["modules"]?.arrayValue?.first { $0["id"] == "mid" }?["messagesIn"]?.intValue ?? 0
            #expect(countedBefore > 0)
            let killed = ContinuousClock.now
            runners[0].process.signal(SIGKILL)
            try await eventually("mid moves to gpu-2", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "gpu-2" }
            // Its counters go on from what it counted on gpu-1, as its state does (gpu-2 counts from 0).
            let countedAfterMove = try await server.status("span")["modules"]?.arrayValue?.first { $0["id"] == "mid" }?["messagesIn"]?.intValue ?? 0
            #expect(countedAfterMove >= countedBefore, "mid's counters went on across the move: \(countedBefore) on gpu-1, \(countedAfterMove) once on gpu-2")
            try await eventually("outputs again", timeout: .seconds(60)) { tail.stdout.count > before + perBatch }
            let recovered = ContinuousClock.now - killed
            stop.withLockedValue { $0 = true }
            let total = try await load.value * perBatch
            try? await eventually("every message", timeout: .seconds(90)) { Set(seqs(tail)).count >= total }
            let missing = Set(0..<total).subtracting(seqs(tail)).sorted()
            #expect(missing.isEmpty, "\(missing.count) of \(total) lost, e.g. \(missing.prefix(10))")
            _ = try await expectDuplicatesCounted(tail, server)
            // The moved state: gpu-2 starts from gpu-1's last `states` report, at most about one heartbeat
            // interval (1 s) of messages behind what gpu-1 had acknowledged (docs/architecture.md).
            let counts = tail.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8))["payload"]?["midCount"]?.intValue }
            var highest = 0
            var fellBack = 0
            for c in counts {
                if c < highest { fellBack = highest - c + 1; break }
                highest = c
            }
            #expect(fellBack <= perSecond * 3 / 2 + 300, "the state fell back by \(fellBack) messages, \(perSecond) a second")
            #expect(highest > perSecond * 3 / 2 + 300, "enough ran on gpu-1 for the bound to mean something (\(highest))")
            let lost = try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "gpu-1" }
            #expect(lost?["state"] == "lost")
            // Subscribers hear of it: `suspect` while it may still reconnect (its connection ended), then `lost` with the reason.
            let changes = states.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8)) }.filter { $0["type"] == "runnerState" && $0["runner"] == "gpu-1" }
            #expect(changes.compactMap { $0["state"]?.stringValue } == ["suspect", "lost"], "\(states.stdout.suffix(5))")
            let event = changes.last
            #expect(event?["reason"]?.stringValue?.isEmpty == false)
            // …and a state event for the flow it hosted a part of, saying why it is degraded.
            let stateEvents: [JSONValue] = states.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8)) }
            let degraded = stateEvents.filter { $0["type"] == "state" && $0["flowId"] == "span" }
            #expect(degraded.contains { $0["reason"]?.stringValue?.contains("runner gpu-1 is lost") == true }, "\(states.stdout.suffix(8))")
            print("failover: kill -9 of gpu-1 → outputs again after \(recovered); \(seqs(tail).count - total) delivered twice of \(total); state fell back by \(fellBack) (\(perSecond)/s)")
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
            // Under load: outputs are flowing through both runners when the dispatcher is killed.
            let before = try await first.tail("span")
            try await inject(first, start: 0, count: 5000)
            try await eventually("load flows", timeout: .seconds(60)) { seqs(before).count >= 200 }
            first.process.signal(SIGKILL)
            await before.terminate()
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
            try await inject(server, start: 100_000, count: 100)
            try await eventually("the flow runs again", timeout: .seconds(60)) { Set(seqs(tail)).isSuperset(of: 100_000..<100_100) }
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
                #expect(runner.fifoLeftovers().isEmpty, "round \(round): \(runner.fifoLeftovers()) \(runner.process.stderr.suffix(15).joined(separator: "\n"))")
                await runner.stop()
                try await eventually("mid back on local (round \(round))", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "local" }
            }
            let total = 20 * perRound
            try await eventually("every message", timeout: .seconds(90)) { Set(seqs(tail)).count >= total }
            #expect(Set(seqs(tail)) == Set(0..<total))
            _ = try await expectDuplicatesCounted(tail, server)
        }
    }

    @Test func aPartitionIsDetectedByHeartbeatsAndTheReturningRunnerRunsNothingOfTheModulesThatMoved() async throws {
        try await withServer { server in
            let (proxy, proxyPort) = try await partitionProxy(to: server)
            defer { Task { await proxy.terminate() } }
            let runner = try await JoinedRunner.start(joining: server, url: "http://127.0.0.1:\(proxyPort)", name: "gpu-1", tags: ["gpu"])
            defer { Task { await runner.stop() } }
            let journal = FileManager.default.temporaryDirectory.appendingPathComponent("polyflow-partition-\(UUID().uuidString).txt").path
            defer { try? FileManager.default.removeItem(atPath: journal) }
            guard case .object(let journaledFlow) = Self.journaled(journal), case .array(let modules)? = journaledFlow["modules"] else { return }
            let flow: JSONValue = ["id": "span", "modules": [RunnersTests.gen, modules[1]],
                "connections": [["from": "gen.out", "to": "mid.in"]]]
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": flow])["result"] == true)
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            // Cut with a backlog at gpu-1 (20 ms a message, 20 s of work): what it had not done moves with mid.
            // The journal mid writes says what gpu-1 has done (the tail may lag on a loaded machine; the file does not).
            try await inject(server, start: 0, count: 1000)
            try await eventually("gpu-1 is mid-way", timeout: .seconds(60)) { Self.journalLines(journal).count >= 30 }
            proxy.signal(SIGUSR1)
            let cut = ContinuousClock.now
            let oldPid = Self.journalLines(journal)[0].pid
            #expect(Self.journalLines(journal).count < 1000, "a backlog at the cut")
            try await eventually("gpu-1 lost", timeout: .seconds(20)) {
                try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "gpu-1" }?["state"] == "lost"
            }
            let detected = ContinuousClock.now - cut
            try await eventually("mid on local", timeout: .seconds(20)) { try await server.runnersOfModules("span")["mid"] == "local" }
            // gpu-1 holds (its runtimes frozen) from 2 silent intervals on: its old process has done its last.
            let byOldPid = Self.journalLines(journal).filter { $0.pid == oldPid }.count
            try await inject(server, start: 1000, count: 100)
            try await eventually("1100", timeout: .seconds(90)) { Set(seqs(tail)).count >= 1100 }
            proxy.signal(SIGUSR2)
            do {
                try await eventually("gpu-1 back", timeout: .seconds(30)) {
                    try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "gpu-1" }?["state"] == "live"
                }
            } catch {
                throw TimedOut(description: "\(error); the runner said: \(runner.process.stderr.suffix(8).joined(separator: " | "))")
            }
            try await eventually("mid on gpu-1 again", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "gpu-1" }
            try await inject(server, start: 1100, count: 100)
            do { try await eventually("1200", timeout: .seconds(90)) { Set(seqs(tail)).count >= 1200 } } catch {
                print("DIAG missing: \(Set(0..<1200).subtracting(seqs(tail)).sorted().prefix(40)) count \(Set(seqs(tail)).count)")
                print("DIAG runner: \(runner.process.stderr.suffix(40).joined(separator: "\nDIAG runner: "))")
                print("DIAG server: \(server.process.stderr.suffix(60).joined(separator: "\nDIAG server: "))")
                print("DIAG status: \(try await server.status("span"))")
                throw error
            }
            #expect(Set(seqs(tail)) == Set(0..<1200))
            _ = try await expectDuplicatesCounted(tail, server)
            // The runner that came back ran nothing of what had moved: its old process handled nothing more.
            let lines = Self.journalLines(journal)
            #expect(lines.filter { $0.pid == oldPid }.count == byOldPid)
            #expect(lines.last?.pid != oldPid)
            // The README promises 3 s (heartbeat 1 s, lost after 3 silent intervals): at most 3× that on a loaded machine.
            #expect(detected < .seconds(9), "a partition is seen by the heartbeats (\(detected))")
            print("partition: detected after \(detected)")
        }
    }

    /// An injected message is kept by the dispatcher until its runner says it is
    /// done: here the whole chain is on the runner that dies, mid-way through the
    /// 400 messages one injected message made, and they all arrive from the new place.
    @Test func anInjectedMessageWhoseRunnerDiesBeforeItIsDoneIsDeliveredAgainAtTheNewPlace() async throws {
        try await withRunners(runners: [("gpu-1", ["gpu"])]) { server, runners in
            let journal = FileManager.default.temporaryDirectory.appendingPathComponent("polyflow-inject-\(UUID().uuidString).txt").path
            defer { try? FileManager.default.removeItem(atPath: journal) }
            guard case .object(var gen) = RunnersTests.gen else { return }
            gen["tags"] = ["gpu"]
            // Each message takes 10 ms and leaves a line (the tail may lag on a loaded machine; the file does not).
            let mid: JSONValue = ["id": "mid", "runtime": "python3", "tags": ["gpu"], "config": ["journal": .string(journal)],
                                  "code": "import time\ndef on_message(msg, ctx):\n    time.sleep(0.01)\n    with open(ctx.config['journal'], 'a') as f:\n        f.write('x\\n')\n    return msg.payload\n"]
            let flow: JSONValue = ["id": "span", "modules": [.object(gen), mid], "connections": [["from": "gen.out", "to": "mid.in"]]]
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": flow])["result"] == true)
            #expect(try await server.runnersOfModules("span") == ["gen": "gpu-1", "mid": "gpu-1"])
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            func handled() -> Int { ((try? String(contentsOfFile: journal, encoding: .utf8)) ?? "").split(separator: "\n").count }
            try await inject(server, start: 0, count: 2000)
            try await eventually("gpu-1 is mid-way", timeout: .seconds(60)) { handled() >= 20 }
            runners[0].process.signal(SIGKILL)
            let atKill = handled()
            #expect(atKill < 2000, "gpu-1 was mid-way when it died")
            try await eventually("the chain moves", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "local" }
            try await eventually("all 2000", timeout: .seconds(120)) { Set(seqs(tail)).count >= 2000 }
            #expect(Set(seqs(tail)) == Set(0..<2000))
            // (Duplicates are not checked against `redelivered` here: the one injected message sent again
            // makes gen send all 2000 again, and `redelivered` counts the message, not what it fans out to.)
            // The injected message itself went again to gen's new place, which made all 2000 again.
            let redelivered = try await server.rpc("getFlow", ["flowId": "span"])["result"]?["redelivered"]
            #expect((redelivered?["gen"]?.intValue ?? 0) >= 1, "\(String(describing: redelivered))")
            try await eventually("the new place made all 2000", timeout: .seconds(120)) { handled() >= atKill + 2000 }
            print("inject: gpu-1 handled \(atKill) before it died; \(seqs(tail).count - 2000) outputs twice of 2000; redelivered \(String(describing: redelivered))")
        }
    }

    /// A runner silent for 2 intervals is `suspect` (it keeps its modules), and `live`
    /// again when heard before it is lost; subscribers hear both, and nothing is lost.
    @Test func aRunnerSilentForTwoIntervalsIsSuspectThenLiveAgainWithoutLosingItsModules() async throws {
        // A 5 s heartbeat: suspect after 10 s of silence, lost after 15 s. The runner is frozen
        // for 12.5 s while its outputs flow (so it was heard just before), by a shell of its
        // own: the length of the fault does not depend on how busy this test process is, and
        // 2.5 s on each side leave room for a loaded machine (1.5 s with a 3 s heartbeat did not).
        try await withServer(extraArguments: ["--heartbeat", "5"]) { server in
            let runner = try await JoinedRunner.start(joining: server, name: "gpu-1", tags: ["gpu"])
            defer { Task { await runner.stop() } }
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": chain])["result"] == true)
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            let states = try ChildProcess(Repo.flowctl, ["tail", "--events", "state"], environment: ["FLOWCTL_SERVER": server.url])
            defer { Task { await states.terminate() } }
            try await states.waitForStderr("subscribed") { $0.contains("following") }
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            try await inject(server, start: 0, count: 20_000)
            // gen and sink share one python3 process here, on a cycle through gpu-1: it must not be held back.
            try await eventually("outputs flow", timeout: .seconds(60)) { seqs(tail).count >= 100 }
            let freeze = try ChildProcess("/bin/sh", ["-c", "kill -STOP \(runner.process.pid); sleep 12.5; kill -CONT \(runner.process.pid)"])
            func events() -> [JSONValue] {
                states.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8)) }.filter { $0["type"] == "runnerState" && $0["runner"] == "gpu-1" }
            }
            // While it is frozen: getFlow answers at once, mid shown unreachable, the flow degraded and why.
            try await eventually("gpu-1 suspect", timeout: .seconds(30)) { events().contains { $0["state"] == "suspect" } }
            if freeze.exitStatus == nil {
                let frozen = try await server.status("span")
                let mid = frozen["modules"]?.arrayValue?.first { $0["id"] == "mid" }
                #expect(mid?["state"] == "unreachable", "\(frozen)")
                #expect(mid?["unreachableReason"]?.stringValue?.contains("suspect") == true, "\(frozen)")
                #expect(frozen["status"] == "degraded")
                let stateEvents: [JSONValue] = states.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8)) }
                let flowEvents = stateEvents.filter { $0["type"] == "state" && $0["flowId"] == "span" }
                #expect(flowEvents.contains { $0["reason"]?.stringValue?.contains("runner gpu-1 is suspect") == true }, "\(states.stdout.suffix(8))")
            }
            _ = try await freeze.waitForExit(timeout: .seconds(60))
            try await eventually("gpu-1 suspect, then live", timeout: .seconds(30)) {
                events().map { $0["state"]?.stringValue ?? "" }.drop { $0 != "suspect" }.contains("live")
            }
            #expect(!events().contains { $0["state"] == "lost" }, "\(events())")
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1", "a suspect runner keeps its modules")
            try await eventually("every message", timeout: .seconds(120)) { Set(seqs(tail)).count >= 20_000 }
            #expect(Set(seqs(tail)) == Set(0..<20_000))
            _ = try await expectDuplicatesCounted(tail, server)
        }
    }

    /// The runner's hold: cut off from its dispatcher, a runner with a long backlog
    /// runs no handler from 2 silent intervals on, so the module it had is never
    /// running on two runners at once, though the backlog would have lasted
    /// long past the moment the dispatcher placed the module elsewhere.
    @Test func aCutOffRunnerHoldsItsModulesSoAModuleNeverRunsOnTwoRunnersAtOnce() async throws {
        try await withServer(extraArguments: ["--tags", "home"]) { server in
            let (proxy, proxyPort) = try await partitionProxy(to: server)
            defer { Task { await proxy.terminate() } }
            let runner = try await JoinedRunner.start(joining: server, url: "http://127.0.0.1:\(proxyPort)", name: "gpu-1", tags: ["gpu"])
            defer { Task { await runner.stop() } }
            let journal = FileManager.default.temporaryDirectory.appendingPathComponent("polyflow-hold-\(UUID().uuidString).txt").path
            defer { try? FileManager.default.removeItem(atPath: journal) }
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": Self.journaled(journal)])["result"] == true)
            #expect(try await server.runnersOfModules("span") == ["gen": "local", "mid": "gpu-1"])
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            func lines() -> [(pid: Int, at: Double)] { Self.journalLines(journal) }
            // A backlog of 20 s at gpu-1 (the windows let it all through).
            try await inject(server, start: 0, count: 1000)
            try await eventually("gpu-1 works through the backlog", timeout: .seconds(60)) { lines().count >= 20 }
            let oldPid = lines()[0].pid
            proxy.signal(SIGUSR1)
            try await eventually("mid placed elsewhere", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "local" }
            do {
                try await eventually("mid runs at its new place", timeout: .seconds(60)) { lines().contains { $0.pid != oldPid } }
            } catch {
                let flow = try? await server.rpc("getFlow", ["flowId": "span"])
                throw TimedOut(description: "\(error); getFlow: \(String(describing: flow)); runner: \(runner.process.stderr.suffix(8).joined(separator: " | "))")
            }
            try await runner.process.waitForStderr("the hold") { $0.contains("holding every module") }
            // Nothing lost: the new place works through what gpu-1 had not acknowledged.
            try await eventually("every message", timeout: .seconds(90)) { Set(seqs(tail)).count >= 1000 }
            #expect(Set(seqs(tail)) == Set(0..<1000))
            _ = try await expectDuplicatesCounted(tail, server)
            proxy.signal(SIGUSR2)
            try await eventually("gpu-1 back", timeout: .seconds(30)) {
                try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "gpu-1" }?["state"] == "live"
            }
            // The old place ran nothing once the new one began, not even after it came back
            // (it dropped mid: the frozen process was killed, not thawed).
            let all = lines()
            let lastOld = all.filter { $0.pid == oldPid }.map(\.at).max()!
            let firstNew = all.filter { $0.pid != oldPid }.map(\.at).min()!
            #expect(lastOld < firstNew, "the old place ran mid until \(lastOld), the new one from \(firstNew)")
            #expect(all.filter { $0.pid == oldPid }.count < 900, "the backlog at gpu-1 was held, not worked through")
            print("hold: the old place stopped at \(lastOld), the new one started at \(firstNew) (\(String(format: "%.2f", firstNew - lastOld)) s later)")
        }
    }

    /// The hold is let go when the dispatcher is heard again before it gave the runner up:
    /// the frozen process goes on where it was (same pid, nothing killed) and nothing is lost.
    @Test func aHeldRunnerHeardAgainInTimeGoesOnWithTheSameProcessesAndLosesNothing() async throws {
        // A 4 s heartbeat: the runner holds after 8 s of silence, the dispatcher gives it up after 12 s.
        try await withServer(extraArguments: ["--tags", "home", "--heartbeat", "4"]) { server in
            let (proxy, proxyPort) = try await partitionProxy(to: server)
            defer { Task { await proxy.terminate() } }
            let runner = try await JoinedRunner.start(joining: server, url: "http://127.0.0.1:\(proxyPort)", name: "gpu-1", tags: ["gpu"],
                                                      extraArguments: ["--heartbeat", "4"])
            defer { Task { await runner.stop() } }
            let journal = FileManager.default.temporaryDirectory.appendingPathComponent("polyflow-release-\(UUID().uuidString).txt").path
            defer { try? FileManager.default.removeItem(atPath: journal) }
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": Self.journaled(journal)])["result"] == true)
            #expect(try await server.runnersOfModules("span") == ["gen": "local", "mid": "gpu-1"])
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            func pids() -> [Int] { Self.journalLines(journal).map(\.pid) }
            try await inject(server, start: 0, count: 600)
            try await eventually("gpu-1 works through the backlog", timeout: .seconds(60)) { pids().count >= 20 }
            let pid = pids()[0]
            // A partition that keeps the connections (nothing read, nothing lost) and heals before the
            // dispatcher gives the runner up.
            proxy.signal(SIGHUP)
            try await runner.process.waitForStderr("the hold", timeout: .seconds(30)) { $0.contains("holding every module") }
            let heldAt = pids().count
            proxy.signal(SIGWINCH)
            try await runner.process.waitForStderr("the release", timeout: .seconds(30)) { $0.contains("running the modules again") }
            try await eventually("every message", timeout: .seconds(90)) { Set(seqs(tail)).count >= 600 }
            #expect(Set(seqs(tail)) == Set(0..<600))
            _ = try await expectDuplicatesCounted(tail, server)
            #expect(pids().count > heldAt, "mid went on after the release")
            #expect(Set(pids()) == [pid], "the same process went on: nothing was killed or placed elsewhere")
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            let gpu = try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == "gpu-1" }
            #expect(gpu?["state"] == "live", "\(String(describing: gpu))")
            #expect(!runner.process.stderr.joined().contains("dropping"), "nothing was placed elsewhere meanwhile")
        }
    }

    /// A new part of a paused flow (mid's, on gpu-2, after gpu-1 died) holds the
    /// messages that were held for its module on the runner that died: nothing
    /// runs there until the flow is resumed. (The deploy says `paused`, so the
    /// part holds from its start; the `pause` the dispatcher sends right after
    /// reaches it before any sender is told the new place.)
    @Test func aNewPartOfAPausedFlowHoldsTheMessagesThatWaitedForIt() async throws {
        try await withRunners(runners: [("gpu-1", ["gpu"]), ("gpu-2", ["gpu"])]) { server, runners in
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": chain])["result"] == true)
            #expect(try await server.runnersOfModules("span")["mid"] == "gpu-1")
            let tail = try await server.tail("span")
            defer { Task { await tail.terminate() } }
            // Paused with nothing queued (an empty step), then one message, stepped through gen:
            // its 5 outputs wait for mid on gpu-1, held there.
            _ = try await server.rpc("singleStepFlow", ["flowId": "span"])
            try await inject(server, start: 0, count: 5)
            let first = try await server.rpc("singleStepFlow", ["flowId": "span"])["result"]
            #expect(first?["span/gen"]?["outputStates"]?["out"]?.arrayValue?.count == 5, "\(String(describing: first))")
            func mid() async throws -> JSONValue? { try await server.status("span")["modules"]?.arrayValue?.first { $0["id"] == "mid" } }
            try await eventually("5 held at mid on gpu-1", timeout: .seconds(30)) { try await mid()?["queued"]?.intValue == 5 }
            runners[0].process.signal(SIGKILL)
            try await eventually("mid on gpu-2", timeout: .seconds(30)) { try await server.runnersOfModules("span")["mid"] == "gpu-2" }
            try await eventually("held again on gpu-2", timeout: .seconds(30)) {
                let paused = try await server.status("span")["status"] == "paused"
                let queued = try await mid()?["queued"]?.intValue
                return paused && queued == 5
            }
            #expect(try await mid()?["messagesIn"]?.intValue == 0, "nothing ran at the new place while paused")
            _ = try await server.rpc("resumeFlow", ["flowId": "span"])
            try await eventually("all 5", timeout: .seconds(30)) { Set(seqs(tail)) == Set(0..<5) }
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
