import FlowModel
import Foundation
import NIOConcurrencyHelpers
import Testing

/// A joined runner is trusted only with the modules placed on it
/// (docs/security.md, "A runner is trusted only with what is placed on it"):
/// each test is an attack by a runner that holds the token and lies, and
/// checks that it changes nothing outside what is placed on it.
@Suite(.timeLimit(.minutes(3))) struct RunnerTrustTests {
    /// `p` runs on the embedded runner (tag `home`) and counts what it gets.
    static let victim: JSONValue = [
        "id": "victim",
        "modules": [["id": "p", "runtime": "python3", "requireTags": ["home"],
                     "code": "def on_message(msg, ctx):\n    ctx.state['n'] = ctx.state.get('n', 0) + 1\n    return msg.payload\n"]],
        "connections": [],
    ]
    /// `e` runs on the lying runner (tag `evil`) and sends to `s`, on the embedded runner.
    static let mine: JSONValue = [
        "id": "mine",
        "modules": [["id": "e", "runtime": "python3", "requireTags": ["evil"], "code": "def on_message(msg, ctx):\n    return msg.payload\n"],
                    ["id": "s", "runtime": "python3", "requireTags": ["home"], "code": "def on_message(msg, ctx):\n    return msg.payload\n"]],
        "connections": [["from": "e.out", "to": "s.in"]],
    ]

    func withVictimAndLiar(answer: @escaping LyingRunner.Answer = { _, _ in ["kind": "ok"] },
                           _ body: (PolyflowServer, LyingRunner) async throws -> Void) async throws {
        // A long heartbeat: the hand-made runner is lost for what it says, not for being slow.
        try await withServer(extraArguments: ["--tags", "home", "--heartbeat", "5"]) { server in
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": Self.victim])["result"] == true)
            let liar = try await LyingRunner.join(server, name: "liar", tags: ["evil"], answer: answer)
            defer { liar.stop() }
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": Self.mine])["result"] == true)
            try await eventually("mine is deployed on liar") { liar.commands.contains { $0["op"] == "deploy" } }
            try await body(server, liar)
        }
    }

    func runner(_ server: PolyflowServer, _ id: String) async throws -> JSONValue? {
        try await server.rpc("listRunners")["result"]?.arrayValue?.first { $0["id"] == .string(id) }
    }

    /// The liar sends a batch to the embedded runner with these frames; returns the reason it was lost for.
    func lostFor(frames: String, _ server: PolyflowServer, _ liar: LyingRunner) async throws -> String {
        let session = try await runner(server, "local")?["session"]?.intValue ?? 0
        liar.send(binary: "PF1 liar \(liar.session) local \(session) 1 0 0\n" + frames)
        try await eventually("liar is lost") { try await runner(server, "liar")?["state"] == "lost" }
        return try await runner(server, "liar")?["reason"]?.stringValue ?? ""
    }

    @Test func aStatusReplyAboutAnotherFlowIsNotMergedNorSavedNorLoadedIntoState() async throws {
        let forged: JSONValue = ["pwned": true]
        try await withVictimAndLiar(answer: { op, _ in
            guard op == "status" else { return ["kind": "ok"] }
            return ["kind": "status", "flows": [
                LyingRunner.flowStatus("mine", modules: [LyingRunner.moduleStatus("e"), LyingRunner.moduleStatus("s", state: forged)]),
                LyingRunner.flowStatus("victim", modules: [LyingRunner.moduleStatus("p", state: forged, messagesIn: 999)], state: "paused"),
            ]]
        }) { server, liar in
            _ = try await server.rpc("inject", ["flowModuleId": "victim/p", "payload": 1])
            try await eventually("p counted the message") { try await server.status("victim")["modules"]?[0]?["moduleState"] == ["n": 1] }
            // Asked through getFlow (which asks every runner of the flow) and through the periodic save.
            let victim = try await server.status("victim")
            #expect(victim["modules"]?[0]?["messagesIn"] == 1, "\(victim)")
            #expect(victim["status"] == "running", "\(victim)")
            let mine = try await server.status("mine")
            #expect(mine["modules"]?.arrayValue?.first { $0["id"] == "s" }?["moduleState"] != forged, "\(mine)")
            #expect(mine["modules"]?.arrayValue?.first { $0["id"] == "e" }?["runner"] == "liar", "\(mine)")
            _ = try await server.rpc("listFlows")
            let saved = try String(contentsOfFile: server.stateDirectory + "/flows/victim.json", encoding: .utf8)
            #expect(!saved.contains("pwned"), "\(saved)")
            // After a restart, p starts from its own state, not from the forged one.
            liar.stop()
            _ = try await server.stop()
            let again = try await PolyflowServer.start(stateDirectory: server.stateDirectory, extraArguments: ["--tags", "home"])
            defer { Task { await again.cleanUp() } }
            _ = try await again.rpc("inject", ["flowModuleId": "victim/p", "payload": 2])
            try await eventually("p counted on") { try await again.status("victim")["modules"]?[0]?["moduleState"]?["n"] != nil }
            #expect(try await again.status("victim")["modules"]?[0]?["moduleState"]?["pwned"] == nil)
        }
    }

    @Test func aDataFrameForAModuleItDoesNotSendToCutsTheRunnerOffAndNeverArrives() async throws {
        try await withVictimAndLiar { server, liar in
            // victim/p on the embedded runner: an inject that bypasses the API, its token and its bounds.
            let reason = try await lostFor(frames: "1 victim/p.in 7\n\"pwned\"\n", server, liar)
            #expect(reason.contains("refused a frame for victim/p.in"), "\(reason)")
            #expect(try await server.status("victim")["modules"]?[0]?["messagesIn"] == 0)
            // The runner is told why, in the close frame.
            try await eventually("liar's connection closed") { liar.closed }
            #expect(liar.closeReason?.contains("refused a frame for victim/p.in") == true, "\(String(describing: liar.closeReason))")
        }
    }

    @Test func aFrameAlongItsOwnModulesConnectionIsForwarded() async throws {
        try await withVictimAndLiar { server, liar in
            let local = try await runner(server, "local")
            let session = local?["session"]?.intValue ?? 0
            // e.out → s.in: what e's runner may send, at s's generation (from the routes it was given).
            let routes = liar.commands.compactMap { $0["deploy"]?["routes"] ?? $0["routes"] }.flatMap { $0.arrayValue ?? [] }
            let targetGen = routes.last { $0["module"] == "s" }?["gen"]?.intValue ?? 1
            liar.send(binary: "PF1 liar \(liar.session) local \(session) 1 0 0\n\(targetGen) mine/s.in 2\n42\n")
            try await eventually("s got it") { try await server.status("mine")["modules"]?.arrayValue?.first { $0["id"] == "s" }?["messagesIn"] == 1 }
            #expect(try await runner(server, "liar")?["state"] == "live")
        }
    }

    @Test func eventsAboutFlowsItDoesNotHostNeverReachSubscribersAndCannotPauseThem() async throws {
        try await withVictimAndLiar { server, liar in
            let tail = try ChildProcess(Repo.flowctl, ["tail"], environment: ["FLOWCTL_SERVER": server.url])
            defer { Task { await tail.terminate() } }
            try await tail.waitForStderr("subscribed") { $0.contains("following") }
            liar.send(["t": "event", "event": ["type": "output", "flow": "victim", "module": "p", "port": "out", "payload": "\"forged-output\""]])
            liar.send(["t": "event", "event": ["type": "paused", "flow": "victim", "module": "p", "port": "in", "payload": "1"]])
            liar.send(["t": "event", "event": ["type": "flowState", "flow": "victim", "state": "degraded", "reason": "forged-state"]])
            // Its own module's output, with a payload crafted to re-shape the notification.
            liar.send(["t": "event", "event": ["type": "output", "flow": "mine", "module": "e", "port": "out",
                                                "payload": "1,\"type\":\"error\",\"flowId\":\"victim\",\"message\":\"spliced\""]])
            liar.send(["t": "event", "event": ["type": "output", "flow": "mine", "module": "e", "port": "out", "payload": "\"own-output\""]])
            _ = try await tail.waitForStdout("its own output") { $0.contains("own-output") }
            let lines = tail.stdout
            #expect(!lines.contains { $0.contains("forged") }, "\(lines)")
            let crafted = lines.compactMap { try? JSONValue(parsing: Data($0.utf8)) }.first { $0["module"] == "e" && $0["payload"]?.stringValue?.contains("spliced") == true }
            #expect(crafted?["type"] == "output", "the crafted payload arrives as a string inside an output: \(lines)")
            #expect(!lines.contains { $0.contains("\"type\":\"error\"") }, "\(lines)")
            #expect(try await server.status("victim")["status"] == "running")
            _ = try await server.rpc("inject", ["flowModuleId": "victim/p", "payload": 5])
            try await eventually("victim still flows") { try await server.status("victim")["modules"]?[0]?["messagesIn"] == 1 }
        }
    }

    @Test func aRunnerThatAnswersPingsButNeverStatusDoesNotHoldUpGetFlow() async throws {
        try await withVictimAndLiar(answer: { op, _ in op == "status" ? nil : ["kind": "ok"] }) { server, liar in
            let started = ContinuousClock.now
            let mine = try await server.status("mine")
            let waited = ContinuousClock.now - started
            let e = mine["modules"]?.arrayValue?.first { $0["id"] == "e" }
            #expect(e?["state"] == "unreachable", "\(mine)")
            #expect(e?["unreachableReason"]?.stringValue?.contains("did not answer status") == true, "\(mine)")
            #expect(mine["status"] == "degraded", "\(mine)")
            // Its own part (s, on the embedded runner) is there as usual.
            #expect(mine["modules"]?.arrayValue?.first { $0["id"] == "s" }?["state"] == "running", "\(mine)")
            // Well under the 30 s a command may take: the 2 s status wait.
            #expect(waited < .seconds(15), "getFlow took \(waited)")
            #expect(try await server.rpc("listFlows")["result"]?.arrayValue?.count == 2)
            #expect(try await runner(server, "liar")?["state"] == "live")
        }
    }

    @Test func aBatchWithAValidHeaderAndGarbageFramesCutsTheSenderOff() async throws {
        try await withVictimAndLiar { server, liar in
            let reason = try await lostFor(frames: "this is not a frame header\n", server, liar)
            #expect(reason.contains("unreadable data batch"), "\(reason)")
            #expect(reason.contains("bad-frame-header"), "\(reason)")
        }
    }
}
