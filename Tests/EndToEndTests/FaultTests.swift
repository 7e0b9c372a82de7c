import FlowModel
import Foundation
import Testing

/// Bad input and faults through the real server and CLI: each gets a clear
/// error, nothing is half-done, nothing is left running.
@Suite(.timeLimit(.minutes(3))) struct FaultTests {
    func writeFlow(_ json: String, in dir: String, name: String = "flow.json") throws -> String {
        let path = dir + "/" + name
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func invalidFlowListsEveryProblemAndDeploysNothing() async throws {
        try await withServer { server in
            let dir = tempDirectory("flows")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = try writeFlow("""
            {"id": "bad", "modules": [
              {"id": "print", "runtime": "python3", "code": "x"},
              {"id": "src", "runtime": "nodejs", "code": "x"}],
             "connections": [{"from": "src.out", "to": "prnt.in"}]}
            """, in: dir)
            let local = try await server.flowctl("validate", path)
            #expect(local.status != 0)
            #expect(local.stderr.contains("modules[1].runtime: unknown runtime \"nodejs\" (did you mean \"node\"?)"))
            #expect(local.stderr.contains("connections[0].to: no module \"prnt\" (did you mean \"print\"?)"))

            let deploy = try await server.flowctl("addOrUpdateFlow", path)
            #expect(deploy.status != 0)
            #expect(deploy.stderr.contains("connections[0].to"))
            #expect(deploy.stderr.hasPrefix("flowctl: "))

            // The server validates too, and puts the issues in the error's data.
            let raw = try await server.rpc("addOrUpdateFlow", .object(["flow": .object([
                "id": "bad", "modules": .array([.object(["id": "a b", "runtime": "node"])])])]))
            #expect(raw["error"]?["code"] == .int(-32602))
            guard case .array(let issues)? = raw["error"]?["data"]?["issues"] else { Issue.record("no issues in \(raw)"); return }
            #expect(issues.contains { $0["path"] == "modules[0].id" })
            #expect(issues.contains { $0["path"] == "modules[0]" })

            let flows = try await server.flowctl("listFlows")
            #expect(flows.json == .array([]), "nothing deployed")
            #expect(server.fifoEntries.isEmpty)
        }
    }

    @Test func codeThatDoesNotLoadFailsTheDeployAndTheOldVersionKeepsRunning() async throws {
        try await withServer(flows: [Repo.examples + "/pipeline.json"]) { server in
            let before = try await server.pids("pipeline")
            #expect(before.count == 2)
            let dir = tempDirectory("flows")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = try writeFlow("""
            {"id": "pipeline", "modules": [
              {"id": "parse", "runtime": "python3", "code": "def on_message(msg, ctx):\\n    return msg.payload +\\n"},
              {"id": "enrich", "runtime": "node", "code": "module.exports = (m) => m.payload"}],
             "connections": [{"from": "parse.out", "to": "enrich.in"}]}
            """, in: dir)
            let deploy = try await server.flowctl("addOrUpdateFlow", path)
            #expect(deploy.status != 0)
            #expect(deploy.stderr.contains("module \"parse\" (python3) does not load at line 2"), "\(deploy.stderr)")
            #expect(deploy.stderr.split(separator: "\n").count == 1, "one line")
            let got = try await server.status("pipeline")
            #expect(got["revision"] == .int(1))
            #expect(got["status"] == "running")
            #expect(try await server.pids("pipeline") == before, "the running version was not touched")
        }
    }

    @Test func injectToUnknownFlowModuleOrPortIsAClearRPCError() async throws {
        try await withServer(flows: [Repo.examples + "/pipeline.json"]) { server in
            let unknownFlow = try await server.rpc("inject", .object(["flowModuleId": "nope/parse", "payload": 1]))
            #expect(unknownFlow["error"]?["message"]?.stringValue?.contains("no flow \"nope\"") == true, "\(unknownFlow)")
            let unknownModule = try await server.rpc("inject", .object(["flowModuleId": "pipeline/parsee", "payload": 1]))
            #expect(unknownModule["error"]?["message"]?.stringValue?.contains("did you mean \"parse\"") == true, "\(unknownModule)")
            let unknownPort = try await server.rpc("inject", .object(["flowModuleId": "pipeline/parse", "port": "inn", "payload": 1]))
            #expect(unknownPort["error"]?["message"]?.stringValue?.contains("has no input port \"inn\"") == true, "\(unknownPort)")
            let badId = try await server.rpc("inject", .object(["flowModuleId": "noslash", "payload": 1]))
            #expect(badId["error"]?["code"] == .int(-32602))
            let missingPayload = try await server.rpc("inject", .object(["flowModuleId": "pipeline/parse"]))
            #expect(missingPayload["error"]?["code"] == .int(-32602))
            let unknownMethod = try await server.rpc("injekt", .object([:]))
            #expect(unknownMethod["error"]?["code"] == .int(-32601))

            let cli = try await server.flowctl("inject", "pipeline/parsee", "1")
            #expect(cli.status != 0)
            #expect(cli.stderr.hasPrefix("flowctl: ") && cli.stderr.contains("parse"))
            let badJSON = try await server.flowctl("inject", "pipeline/parse", "{not json")
            #expect(badJSON.status != 0)
            #expect(badJSON.stderr.contains("JSON"))
        }
    }

    @Test func serveOnAPortInUseIsOneLineAndNonZero() async throws {
        try await withServer { server in
            let port = try #require(URL(string: server.url)?.port)
            let state = tempDirectory("state2")
            defer { try? FileManager.default.removeItem(atPath: state) }
            let second = try await runFlowctl(["serve", "--port", "\(port)", "--state-dir", state])
            #expect(second.status != 0)
            let lines = second.stderr.split(separator: "\n").filter { !$0.contains(" info ") }
            #expect(lines.count == 1, "\(second.stderr)")
            #expect(lines.first?.contains("\(port)") == true)
            #expect(lines.first?.contains("in use") == true, "\(second.stderr)")
        }
    }

    @Test func stopStartRemoveLeaveNoProcessesOrFifos() async throws {
        try await withServer(flows: [Repo.examples + "/pipeline.json"]) { server in
            let pids = try await server.pids("pipeline")
            #expect(pids.count == 2)
            #expect(server.fifoEntries.count == 2)
            #expect(try await server.flowctl("stopFlow", "pipeline").stdout == "true")
            #expect(pids.allSatisfy { !processAlive($0) })
            #expect(server.fifoEntries.isEmpty)
            #expect(try await server.status("pipeline")["status"] == "stopped")
            let refused = try await server.flowctl("inject", "pipeline/parse", "\"x\"")
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("not running"))

            #expect(try await server.flowctl("startFlow", "pipeline").stdout == "true")
            let again = try await server.pids("pipeline")
            #expect(again.count == 2 && again.allSatisfy(processAlive))
            #expect(try await server.flowctl("removeFlow", "pipeline").stdout == "true")
            #expect(again.allSatisfy { !processAlive($0) })
            #expect(server.fifoEntries.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: server.stateDirectory + "/flows/pipeline.json"))
            let gone = try await server.flowctl("getFlow", "pipeline")
            #expect(gone.status != 0)
            #expect(gone.stderr.contains("no flow \"pipeline\""))
        }
    }

    @Test func sigtermShutsDownCleanlyAndARestartRestoresTheFlows() async throws {
        let state = tempDirectory("state")
        let run = tempDirectory("run")
        defer {
            try? FileManager.default.removeItem(atPath: state)
            try? FileManager.default.removeItem(atPath: run)
        }
        let first = try await PolyflowServer.start(flows: [Repo.examples + "/pipeline.json", Repo.examples + "/errors.json"],
                                                   stateDirectory: state, runtimeDirectory: run)
        var pids: [Int32] = []
        do {
            #expect(try await first.flowctl("stopFlow", "errors").stdout == "true")
            pids = try await first.pids("pipeline")
            #expect(pids.count == 2)
            #expect(try await first.stop() == 0, "SIGTERM is a clean exit")
        } catch {
            await first.cleanUp()
            throw error
        }
        #expect(pids.allSatisfy { !processAlive($0) }, "no orphaned runtimes")
        #expect(first.fifoEntries.isEmpty, "no fifos left behind")

        let second = try await PolyflowServer.start(stateDirectory: state, runtimeDirectory: run)
        do {
            try await eventually("pipeline restarted") { try await second.status("pipeline")["status"] == "running" }
            let errorsStatus = try await second.status("errors")["status"]
            #expect(errorsStatus == "stopped" || errorsStatus == "deployed", "a stopped flow stays stopped: \(String(describing: errorsStatus))")
            let tail = try ChildProcess(Repo.flowctl, ["tail", "pipeline", "--count", "1"], environment: ["FLOWCTL_SERVER": second.url])
            try await tail.waitForStderr("subscribed") { $0.contains("following") }
            _ = try await second.flowctl("inject", "pipeline/parse", "\"restored and running\"")
            #expect(try await tail.waitForExit() == 0)
            #expect(tail.stdout.first?.contains("restored") == true)
        } catch {
            await second.cleanUp()
            throw error
        }
        await second.cleanUp()
    }

    /// A module whose runtime no runner has is `unplaced` (a runner with it may join later): the flow
    /// is deployed `degraded` with the reason, the rest of it runs.
    @Test func missingNodeIsLeftOutAndItsModulesWaitUnplacedWithTheReason() async throws {
        let bin = tempDirectory("bin")
        defer { try? FileManager.default.removeItem(atPath: bin) }
        // The real interpreter (not a pyenv shim, which needs more than this PATH).
        let which = try await runCommand("/usr/bin/env", ["python3", "-c", "import sys; print(sys.executable)"])
        let python = which.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(FileManager.default.isExecutableFile(atPath: python))
        try FileManager.default.createSymbolicLink(atPath: bin + "/python3", withDestinationPath: python)
        try await withServer(environment: ["PATH": bin]) { server in
            let runtimes = try await server.flowctl("listRuntimes")
            #expect(runtimes.json?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["python3"])
            let deploy = try await server.flowctl("addOrUpdateFlow", Repo.examples + "/pipeline.json")
            #expect(deploy.status == 0, "\(deploy.stderr)")
            let got = try await server.status("pipeline")
            #expect(got["status"] == "degraded")
            #expect(got["reason"]?.stringValue?.contains("module enrich runs on no runner: no runner has the node runtime") == true, "\(got)")
            let modules = got["modules"]?.arrayValue ?? []
            #expect(modules.first { $0["id"] == "enrich" }?["state"] == "unplaced")
            #expect(modules.first { $0["id"] == "parse" }?["state"] == "running")
        }
    }

    @Test func clientWithoutServerSaysSo() async throws {
        let result = try await runFlowctl(["listFlows", "--server", "http://127.0.0.1:9"])
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("flowctl: "))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}

extension FaultTests {
    @Test func anInitThatThrowsFailsTheDeployAndChangesNothing() async throws {
        try await withServer(flows: [Repo.examples + "/pipeline.json"]) { server in
            let dir = tempDirectory("flows")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let badInit = #"exports.init = (ctx) => { throw new Error('no database'); };\nexports.onMessage = (m) => m.payload;"#
            // A module new to the flow runs its init (a changed one keeps its state and does not).
            let changed = try writeFlow("""
            {"id": "pipeline", "modules": [
              {"id": "parse", "runtime": "python3", "code": "def on_message(msg, ctx):\\n    return msg.payload\\n"},
              {"id": "enrich", "runtime": "node", "code": "module.exports = (m) => m.payload"},
              {"id": "audit", "runtime": "node", "code": "\(badInit)"}],
             "connections": [{"from": "parse.out", "to": "enrich.in"}, {"from": "enrich.out", "to": "audit.in"}]}
            """, in: dir)
            let deploy = try await server.flowctl("addOrUpdateFlow", changed)
            #expect(deploy.status != 0)
            #expect(deploy.stderr.contains("no database"), "\(deploy.stderr)")
            let got = try await server.status("pipeline")
            #expect(got["revision"] == .int(1))
            try await eventually("the old version running again") { try await server.status("pipeline")["status"] == "running" }
            let tail = try ChildProcess(Repo.flowctl, ["tail", "pipeline", "--count", "1"], environment: ["FLOWCTL_SERVER": server.url])
            try await tail.waitForStderr("subscribed") { $0.contains("following") }
            _ = try await server.flowctl("inject", "pipeline/parse", "\"still the old version\"")
            #expect(try await tail.waitForExit() == 0)
            #expect(tail.stdout.first?.contains("\"by\"") == true, "the old enrich answered: \(tail.stdout)")

            // A new flow whose init throws is not deployed at all.
            let fresh = try writeFlow(#"{"id": "fresh", "modules": [{"id": "m", "runtime": "node", "code": "\#(badInit)"}]}"#, in: dir, name: "fresh.json")
            let second = try await server.flowctl("addOrUpdateFlow", fresh)
            #expect(second.status != 0)
            let listed = try await server.flowctl("listFlows")
            #expect(!listed.stdout.contains("fresh"))
            let status = try await server.flowctl("status")
            #expect(!status.stdout.contains("fresh"))
        }
    }
}

extension FaultTests {
    @Test func anUnreadableStateFileDoesNotStopTheOthersFromRestoring() async throws {
        let state = tempDirectory("state")
        let run = tempDirectory("run")
        defer {
            try? FileManager.default.removeItem(atPath: state)
            try? FileManager.default.removeItem(atPath: run)
        }
        let first = try await PolyflowServer.start(flows: [Repo.examples + "/pipeline.json"], stateDirectory: state, runtimeDirectory: run)
        #expect(try await first.stop() == 0)
        try "{ not json".write(toFile: state + "/flows/broken.json", atomically: true, encoding: .utf8)
        let second = try await PolyflowServer.start(stateDirectory: state, runtimeDirectory: run)
        do {
            try await eventually("pipeline restored") { try await second.status("pipeline")["status"] == "running" }
            try await second.process.waitForStderr("the unreadable file named") { $0.contains("broken.json") && $0.contains("fix or remove the file") }
        } catch {
            await second.cleanUp()
            throw error
        }
        await second.cleanUp()
    }
}

extension FaultTests {
    @Test func deployAndRemoveCyclesLeaveNoDescriptorsBehind() async throws {
        try await withServer { server in
            func fds() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.process.pid)/fd").count) ?? -1 }
            // One cycle first: lazily opened things (runtime lookup, loops) are not leaks.
            for cycle in 0..<4 {
                #expect(try await server.flowctl("addOrUpdateFlow", Repo.examples + "/pipeline.json").status == 0)
                #expect(try await server.flowctl("removeFlow", "pipeline").status == 0)
                if cycle == 0 { try await eventually("settled") { fds() > 0 } }
            }
            let after4 = fds()
            for _ in 0..<4 {
                #expect(try await server.flowctl("addOrUpdateFlow", Repo.examples + "/pipeline.json").status == 0)
                #expect(try await server.flowctl("removeFlow", "pipeline").status == 0)
            }
            // Pipes are closed as the children's output ends: allow a moment for the last ones.
            try await eventually("descriptors back to where they were (\(after4))") { fds() <= after4 }
        }
    }
}

extension FaultTests {
    /// `timeoutMs` through the API and the CLI: a Node.js handler that never returns
    /// (`while (true) {}`) shows as running long, then is recorded as the module's
    /// error; the messages behind it are delivered; the flow goes on.
    @Test func aHandlerThatNeverReturnsIsStoppedAtItsTimeLimit() async throws {
        try await withServer { server in
            let dir = tempDirectory("flows")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let hang = #"module.exports = (msg) => { if (msg.payload === 'hang') { while (true) {} } return msg.payload; };"#
            let path = try writeFlow("""
            {"id": "stuck", "modules": [{"id": "m", "runtime": "node", "timeoutMs": 15000, "code": "\(hang.replacingOccurrences(of: "\"", with: "\\\""))"}]}
            """, in: dir)
            #expect(try await server.flowctl("addOrUpdateFlow", path).status == 0)
            #expect(try await server.status("stuck")["flow"]?["modules"]?[0]?["timeoutMs"] == .int(15000))
            let pids = try await server.pids("stuck")
            let tail = try ChildProcess(Repo.flowctl, ["tail", "stuck", "--events", "output,error", "--count", "3"], environment: ["FLOWCTL_SERVER": server.url])
            try await tail.waitForStderr("subscribed") { $0.contains("following") }
            for payload in ["\"a\"", "\"hang\"", "\"b\""] {
                #expect(try await server.flowctl("inject", "stuck/m", payload).status == 0)
            }
            // Shown from 1 s of silence until the limit (15 s: a wide window for a loaded machine).
            try await eventually("getFlow shows the module running long", timeout: .seconds(40)) {
                (try await server.status("stuck")["modules"]?[0]?["runningLongMs"]?.intValue ?? 0) >= 1000
            }
            #expect(try await tail.waitForExit(timeout: .seconds(90)) == 0)
            let events = tail.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8)) }
            #expect(Set(events.filter { $0["type"] == "output" }.compactMap { $0["payload"]?.stringValue }) == ["a", "b"], "\(tail.stdout)")
            let errors = events.filter { $0["type"] == "error" }
            #expect(errors.count == 1, "\(tail.stdout)")
            #expect(errors.first?["payload"] == "hang", "\(errors)")
            #expect(errors.first?["message"]?.stringValue?.contains("time limit of 15000 ms (timeoutMs)") == true, "\(errors)")
            try await eventually("restarted, nothing running long") {
                let s = try await server.status("stuck")
                return s["modules"]?[0]?["runningLongMs"] == nil && s["modules"]?[0]?["errors"] == .int(1)
                    && (s["instances"]?[0]?["restarts"]?.intValue ?? 0) >= 1
            }
            #expect(try await server.pids("stuck") != pids)
        }
    }
}
