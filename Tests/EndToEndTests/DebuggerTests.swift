import FlowModel
import Foundation
import Testing

/// The debugger end to end, on a python → python → node → python flow
/// (examples/flows/debug.json): breakpoints, single steps, resume, conditions.
@Suite(.timeLimit(.minutes(3))) struct DebuggerTests {
    static let flow = Repo.examples + "/debug.json"

    func module(_ flow: JSONValue, _ id: String) -> JSONValue? {
        flow["modules"]?.arrayValue?.first { $0["id"] == .string(id) }
    }

    func waitPaused(_ server: PolyflowServer, _ flow: String = "words") async throws -> JSONValue {
        var last: JSONValue = .null
        try await eventually("flow \(flow) paused") {
            last = try await server.status(flow)
            return last["status"] == "paused"
        }
        return last
    }

    @Test func breakpointHoldsInRuntimeMessagesAndStepsShowEachModule() async throws {
        try await withServer(flows: [Self.flow]) { server in
            #expect(try await server.flowctl("setBreakPointAtModule", "words/clean").stdout == "true")
            _ = try await server.flowctl("inject", "words/split", "\"Red, green!\"")
            let paused = try await waitPaused(server)
            // split and clean share the Python runtime, yet the host holds both words before clean.
            #expect(paused["pausedAt"]?["module"] == "clean")
            #expect(paused["pausedAt"]?["payload"] == "Red,")
            let clean = try #require(module(paused, "clean"))
            #expect(clean["queued"] == .int(2))
            #expect(clean["queuedPayloads"] == ["Red,", "green!"])
            #expect(clean["messagesIn"] == .int(0), "clean has processed nothing")

            let first = try #require(try await server.flowctl("singleStepFlow", "words").json)
            #expect(first.objectValue?.keys.sorted() == ["words/clean"])
            #expect(first["words/clean"]?["inputStates"] == ["in": "Red,"])
            #expect(first["words/clean"]?["outputStates"] == ["out": ["red"]])
            #expect(first["words/clean"]?["errors"] == [])
            #expect(first["words/clean"]?["state"] == [:])

            let second = try #require(try await server.flowctl("singleStepFlow", "words").json)
            #expect(second.objectValue?.keys.sorted() == ["words/clean", "words/score"], "each module with a queued message ran once")
            #expect(second["words/clean"]?["inputStates"] == ["in": "green!"])
            #expect(second["words/score"]?["inputStates"] == ["in": "red"])
            #expect(second["words/score"]?["outputStates"] == ["out": [["word": "red", "score": 4]]])
            #expect(second["words/score"]?["state"] == ["scored": 1])
            #expect(try await server.status("words")["status"] == "paused")

            let third = try #require(try await server.flowctl("singleStepFlow", "words").json)
            #expect(third["words/total"]?["state"] == ["total": 4])
            #expect(third["words/total"]?["outputStates"] == ["out": [["word": "red", "total": 4]]])
            #expect(third["words/score"]?["inputStates"] == ["in": "green"])
        }
    }

    @Test func anExceptionDuringAStepIsReportedAndTheFlowStaysPaused() async throws {
        try await withServer(flows: [Self.flow]) { server in
            _ = try await server.flowctl("setBreakPointAtModule", "words/score")
            _ = try await server.flowctl("inject", "words/split", "\"!!! ok\"")
            _ = try await waitPaused(server)
            let step = try #require(try await server.flowctl("singleStepFlow", "words").json)
            let errors = try #require(step["words/score"]?["errors"]?.arrayValue)
            #expect(errors.count == 1)
            #expect(errors.first?["message"]?.stringValue?.contains("empty word") == true)
            #expect(errors.first?["stack"]?.stringValue?.isEmpty == false)
            #expect(step["words/score"]?["outputStates"] == [:])
            #expect(try await server.status("words")["status"] == "paused")
            // The next step goes on with the next word.
            let next = try #require(try await server.flowctl("singleStepFlow", "words").json)
            #expect(next["words/score"]?["inputStates"] == ["in": "ok"])
            #expect(next["words/score"]?["errors"] == [])
        }
    }

    @Test func resumeDeliversEverythingInOrderNoneLostOrDuplicated() async throws {
        try await withServer(flows: [Self.flow]) { server in
            _ = try await server.flowctl("setBreakPointAtModule", "words/score")
            let words = (1...30).map { "w\($0)" }
            let tail = try ChildProcess(Repo.flowctl, ["tail", "words", "--events", "output", "--count", "\(words.count)"],
                                        environment: ["FLOWCTL_SERVER": server.url])
            do {
                try await tail.waitForStderr("subscribed") { $0.contains("following") }
                _ = try await server.flowctl("inject", "words/split", "\"\(words[..<15].joined(separator: " "))\"")
                _ = try await waitPaused(server)
                _ = try await server.flowctl("singleStepFlow", "words")
                _ = try await server.flowctl("inject", "words/split", "\"\(words[15...].joined(separator: " "))\"")
                #expect(try await server.flowctl("removeBreakPointAtModule", "words/score").stdout == "true")
                #expect(try await server.flowctl("resumeFlow", "words").stdout == "true")
                #expect(try await tail.waitForExit() == 0)
            } catch {
                await tail.terminate()
                throw error
            }
            let seen = try tail.stdout.map { try JSONValue(parsing: Data($0.utf8))["payload"]?["word"]?.stringValue ?? "" }
            #expect(seen == words, "every word once, in order")
            #expect(try await server.status("words")["status"] == "running")
            #expect(try await server.flowctl("resumeFlow", "words").stdout == "false", "not paused any more")
        }
    }

    @Test func aConditionalBreakpointPausesOnlyOnAMatch() async throws {
        try await withServer(flows: [Self.flow]) { server in
            let set = try await server.flowctl("setBreakPointAtModule", "words/score", "--pointer", "", "--equals", "\"stop\"")
            #expect(set.status == 0, "\(set.stderr)")
            let tail = try ChildProcess(Repo.flowctl, ["tail", "words", "--events", "output,debug", "--count", "6"],
                                        environment: ["FLOWCTL_SERVER": server.url])
            do {
                try await tail.waitForStderr("subscribed") { $0.contains("following") }
                _ = try await server.flowctl("inject", "words/split", "\"go on stop here\"")
                try await tail.waitForStdoutCount(1)
                let paused = try await waitPaused(server)
                // "go" and "on" passed score; the flow paused before "stop" reached it.
                #expect(paused["pausedAt"]?["payload"] == "stop")
                #expect(module(paused, "score")?["queuedPayloads"] == ["stop", "here"])
                try await eventually("score's state reported") {
                    module(try await server.status("words"), "score")?["moduleState"] == ["scored": 2]
                }
                // Resume: "stop" passes its breakpoint once; "here" does not match.
                #expect(try await server.flowctl("resumeFlow", "words").stdout == "true")
                #expect(try await tail.waitForExit() == 0)
            } catch {
                await tail.terminate()
                throw error
            }
            let events = try tail.stdout.map { try JSONValue(parsing: Data($0.utf8)) }
            #expect(events.first?["type"] == "paused")
            #expect(events.map { $0["type"]?.stringValue ?? "" }.sorted() == ["output", "output", "output", "output", "paused", "resumed"])
            #expect(events[0]["module"] == "score")
            #expect(events[0]["payload"] == "stop")
            #expect(events.compactMap { $0["payload"]?["word"]?.stringValue } == ["go", "on", "stop", "here"])
            #expect(try await server.status("words")["status"] == "running")

            let exists = try await server.flowctl("setBreakPointAtModule", "words/total", "--condition", #"{"pointer": "/score", "exists": true}"#)
            #expect(exists.status == 0, "\(exists.stderr)")
            let got = try await server.status("words")
            #expect(got["breakpoints"]?.arrayValue?.count == 2)
        }
    }

    @Test func anExistsConditionPausesOnlyWhereThePointerResolvesAndMissingOnlyWhereItDoesNot() async throws {
        try await withServer { server in
            let flow: JSONValue = [
                "id": "cond",
                "modules": [
                    ["id": "relay", "runtime": "node", "code": "exports.onMessage = (msg, ctx) => { for (const x of msg.payload) ctx.send('out', x); };"],
                    ["id": "sink", "runtime": "python3", "code": "def on_message(msg, ctx):\n    return msg.payload\n"],
                ],
                "connections": [["from": "relay.out", "to": "sink.in"]],
            ]
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": flow])["result"] == true)
            let set = try await server.flowctl("setBreakPointAtModule", "cond/sink", "--pointer", "/error", "--exists")
            #expect(set.status == 0 && set.stdout == "true", "\(set.stderr)")
            let tail = try ChildProcess(Repo.flowctl, ["tail", "cond", "--events", "output,debug", "--count", "10"],
                                        environment: ["FLOWCTL_SERVER": server.url])
            do {
                try await tail.waitForStderr("subscribed") { $0.contains("following") }
                // /error is absent, nested deeper, present (the hit), then absent again.
                _ = try await server.rpc("inject", ["flowModuleId": "cond/relay",
                                                    "payload": [["ok": 1], ["ok": 2, "detail": ["error": "deep"]], ["error": "boom"], ["ok": 3]]])
                let paused = try await waitPaused(server, "cond")
                #expect(paused["pausedAt"]?["module"] == "sink")
                #expect(paused["pausedAt"]?["payload"] == ["error": "boom"])
                #expect(module(paused, "sink")?["queuedPayloads"] == [["error": "boom"], ["ok": 3]])
                #expect(try await server.flowctl("resumeFlow", "cond").stdout == "true")
                try await eventually("cond running again") { try await server.status("cond")["status"] == "running" }

                // The other way round: --missing pauses only where /ok does not resolve.
                #expect(try await server.flowctl("removeBreakPointAtModule", "cond/sink").stdout == "true")
                let missing = try await server.flowctl("setBreakPointAtModule", "cond/sink", "--pointer", "/ok", "--missing")
                #expect(missing.status == 0, "\(missing.stderr)")
                _ = try await server.rpc("inject", ["flowModuleId": "cond/relay", "payload": [["ok": 4], ["nope": 5]]])
                let second = try await waitPaused(server, "cond")
                #expect(second["pausedAt"]?["payload"] == ["nope": 5])
                #expect(try await server.flowctl("resumeFlow", "cond").stdout == "true")
                #expect(try await tail.waitForExit() == 0)
            } catch {
                await tail.terminate()
                throw error
            }
            let events = try tail.stdout.map { try JSONValue(parsing: Data($0.utf8)) }
            #expect(events.filter { $0["type"] == "paused" }.compactMap { $0["payload"] } == [["error": "boom"], ["nope": 5]],
                    "exactly two hits: the payload with /error, the one without /ok")
            #expect(events.filter { $0["type"] == "resumed" }.count == 2)
            #expect(events.filter { $0["type"] == "output" }.compactMap { $0["payload"] }
                    == [["ok": 1], ["ok": 2, "detail": ["error": "deep"]], ["error": "boom"], ["ok": 3], ["ok": 4], ["nope": 5]],
                    "every message once, in order, the held ones after the resume")
        }
    }

    @Test func breakpointsSurviveRestartsAndRedeploysAndGoWithTheirModule() async throws {
        let state = tempDirectory("state")
        let run = tempDirectory("run")
        defer {
            try? FileManager.default.removeItem(atPath: state)
            try? FileManager.default.removeItem(atPath: run)
        }
        let first = try await PolyflowServer.start(flows: [Self.flow], stateDirectory: state, runtimeDirectory: run)
        do {
            _ = try await first.flowctl("setBreakPointAtModule", "words/score")
            _ = try await first.flowctl("setBreakPointAtModule", "words/total", "--pointer", "/score", "--exists")
            #expect(try await first.stop() == 0)
        } catch {
            await first.cleanUp()
            throw error
        }
        let second = try await PolyflowServer.start(stateDirectory: state, runtimeDirectory: run)
        do {
            let restored = try await second.status("words")
            #expect(restored["breakpoints"]?.arrayValue?.compactMap { $0["module"]?.stringValue } == ["score", "total"])
            #expect(restored["breakpoints"]?[1]?["condition"] == ["pointer": "/score", "exists": true])
            // Redeploy without "total": its breakpoint goes, score's stays.
            let dir = tempDirectory("flows")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let doc = try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: Self.flow)))
            guard case .object(var o) = doc, case .array(let modules)? = o["modules"], case .array(let connections)? = o["connections"] else {
                Issue.record("unexpected example"); return
            }
            o["modules"] = .array(modules.filter { $0["id"] != "total" })
            o["connections"] = .array(connections.filter { $0["to"] != "total.in" })
            let path = dir + "/words.json"
            try JSONValue.object(o).jsonText.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: dir + "/modules", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Repo.examples + "/modules/score.js", toPath: dir + "/modules/score.js")
            let deployed = try await second.flowctl("addOrUpdateFlow", path)
            #expect(deployed.status == 0, "\(deployed.stderr)")
            let after = try await second.status("words")
            #expect(after["breakpoints"]?.arrayValue?.compactMap { $0["module"]?.stringValue } == ["score"])
            // And the kept breakpoint still works.
            _ = try await second.flowctl("inject", "words/split", "\"x\"")
            #expect(try await waitPaused(second)["pausedAt"]?["module"] == "score")
        } catch {
            await second.cleanUp()
            throw error
        }
        await second.cleanUp()
    }

    @Test func badInputGetsClearErrors() async throws {
        try await withServer(flows: [Self.flow]) { server in
            let unknownFlow = try await server.rpc("setBreakPointAtModule", ["flowModuleId": "nope/score"])
            #expect(unknownFlow["error"]?["message"]?.stringValue?.contains("no flow \"nope\"") == true, "\(unknownFlow)")
            let unknownModule = try await server.rpc("setBreakPointAtModule", ["flowModuleId": "words/scor"])
            #expect(unknownModule["error"]?["message"]?.stringValue?.contains("did you mean \"score\"") == true, "\(unknownModule)")
            let badCondition = try await server.rpc("setBreakPointAtModule", ["flowModuleId": "words/score", "condition": ["pointer": "score", "equals": 1]])
            #expect(badCondition["error"]?["code"] == .int(-32602))
            #expect(badCondition["error"]?["message"]?.stringValue?.contains("condition.pointer") == true, "\(badCondition)")
            let noTest = try await server.rpc("setBreakPointAtModule", ["flowModuleId": "words/score", "condition": ["pointer": "/a"]])
            #expect(noTest["error"]?["message"]?.stringValue?.contains("condition: needs \"equals\"") == true, "\(noTest)")
            let cli = try await server.flowctl("setBreakPointAtModule", "words/score", "--equals", "1")
            #expect(cli.status != 0)
            #expect(cli.stderr.contains("need --pointer"))

            #expect(try await server.rpc("singleStepFlow")["result"] == [:], "nothing paused anywhere: {}")
            #expect(try await server.rpc("resumeFlow", ["flowId": "words"])["result"] == false)
            let stepUnknown = try await server.rpc("singleStepFlow", ["flowId": "nope"])
            #expect(stepUnknown["error"]?["message"]?.stringValue?.contains("no flow \"nope\"") == true)
            #expect(try await server.rpc("removeBreakPointAtModule", ["flowModuleId": "words/score"])["result"] == false)
            // inject, checked by the dispatcher before anything is sent to a runner.
            let injectUnknown = try await server.rpc("inject", ["flowModuleId": "words/scor", "payload": 1])
            #expect(injectUnknown["error"]?["message"]?.stringValue?.contains("did you mean \"score\"") == true, "\(injectUnknown)")
            let injectPort = try await server.rpc("inject", ["flowModuleId": "words/score", "port": "nope", "payload": 1])
            #expect(injectPort["error"]?["data"]?["code"] == "unknown-port", "\(injectPort)")
            let injectHuge = try await server.rpc("inject", ["flowModuleId": "words/score", "payload": .string(String(repeating: "x", count: 17 << 20))])
            #expect(injectHuge["error"]?["data"]?["code"] == "payload-too-large", "\(String(describing: injectHuge["error"]?["data"]))")
            #expect(try await server.status("words")["status"] == "running", "bad input changed nothing")
        }
    }

    @Test func stepOnARunningFlowPausesItAndAnEmptyStepIsEmpty() async throws {
        try await withServer(flows: [Self.flow]) { server in
            let step = try await server.rpc("singleStepFlow", ["flowId": "words"])
            #expect(step["result"] == [:], "nothing queued: {}")
            #expect(try await server.status("words")["status"] == "paused")
            _ = try await server.flowctl("inject", "words/split", "\"held\"")
            let split = try #require(try await server.flowctl("singleStepFlow", "words").json)
            #expect(split["words/split"]?["inputStates"] == ["in": "held"])
            #expect(split["words/split"]?["outputStates"] == ["out": ["held"]])
            #expect(try await server.flowctl("resumeFlow", "words").stdout == "true")
            try await eventually("the held word reaches total") {
                module(try await server.status("words"), "total")?["moduleState"]?["total"] == .int(5)
            }
        }
    }
}
