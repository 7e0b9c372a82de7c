import FlowModel
import Foundation
import FuzzSupport
import Testing

/// Per-module dependency environments through the real server and flowctl:
/// conflicting versions side by side, a node package, a failed install that
/// changes nothing, reuse, removal refused while used, and a restart.
@Suite(.serialized, .timeLimit(.minutes(5))) struct DependenciesTests {
    struct Packages {
        let dir: String
        let v1: String, v2: String, node: String
        init() throws {
            dir = LocalPackages.temporaryDirectory("e2e-packages")
            v1 = try LocalPackages.wheel("pfver", version: "1.0.0", in: dir)
            v2 = try LocalPackages.wheel("pfver", version: "2.0.0", in: dir)
            node = try LocalPackages.npmTarball("pf-node-probe", version: "3.0.0", in: dir)
        }
        func cleanUp() { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func pyModule(_ id: String, _ deps: [String]) -> JSONValue {
        ["id": .string(id), "runtime": "python3", "dependencies": .array(deps.map { .string($0) }),
         "code": .string("import pfver\ndef on_message(msg, ctx):\n    return {'module': '\(id)', 'version': pfver.VERSION}\n")]
    }

    static func flow(_ id: String, _ p: Packages) -> JSONValue {
        ["id": .string(id), "modules": [
            ["id": "src", "runtime": "python3", "code": "def on_message(msg, ctx):\n    return msg.payload\n"],
            pyModule("old", [p.v1]), pyModule("new", [p.v2]),
            ["id": "js", "runtime": "node", "dependencies": .array([.string(p.node)]),
             "code": "const probe = require('pf-node-probe');\nexports.onMessage = (msg, ctx) => ({ module: 'js', version: probe.version });"],
         ],
         "connections": [["from": "src.out", "to": "old.in"], ["from": "src.out", "to": "new.in"], ["from": "src.out", "to": "js.in"]]]
    }

    func writeFlow(_ flow: JSONValue, in dir: String) throws -> String {
        let path = "\(dir)/\(flow["id"]!.stringValue!).json"
        try flow.jsonText.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func conflictingVersionsRunSideBySide_withProgressShown_andASecondDeployReusesThem() async throws {
        let p = try Packages()
        defer { p.cleanUp() }
        try await withServer { server in
            let file = try writeFlow(Self.flow("deps", p), in: p.dir)
            let deployed = try await runFlowctl(["addOrUpdateFlow", file], environment: ["FLOWCTL_SERVER": server.url])
            #expect(deployed.status == 0, "\(deployed.stderr)")
            // The install progress, as it went: three environments, each started and ok, with installer lines between.
            #expect(deployed.stderr.components(separatedBy: "\n").filter { $0.contains("] ok: ") }.count == 3, "\(deployed.stderr)")
            #expect(deployed.stderr.contains("Successfully installed pfver-1.0.0") || deployed.stderr.contains("pfver==1.0.0"), "\(deployed.stderr)")
            // Four instances: src, old, new (python3, three environments) and js.
            #expect(try await server.pids("deps").count == 4)

            let tail = try ChildProcess(Repo.flowctl, ["tail", "deps", "--events", "output"], environment: ["FLOWCTL_SERVER": server.url])
            defer { Task { await tail.terminate() } }
            try await tail.waitForStderr("following") { $0.contains("following") }
            _ = try await server.rpc("inject", ["flowModuleId": "deps/src", "payload": "go"])
            try await tail.waitForStdout("old") { $0.contains("\"module\":\"old\"") && $0.contains("\"version\":\"1.0.0\"") }
            try await tail.waitForStdout("new") { $0.contains("\"module\":\"new\"") && $0.contains("\"version\":\"2.0.0\"") }
            try await tail.waitForStdout("js") { $0.contains("\"module\":\"js\"") && $0.contains("\"version\":\"3.0.0\"") }

            // listDependencies: three environments, each with its user.
            let list = try await server.rpc("listDependencies")["result"]!.arrayValue!
            #expect(list.count == 3)
            #expect(list.allSatisfy { $0["runner"] == "local" && ($0["size"]?.intValue ?? 0) > 0 })
            let users = Set(list.flatMap { $0["modules"]!.arrayValue!.compactMap(\.stringValue) })
            #expect(users == ["deps/old", "deps/new", "deps/js"])

            // Another flow with the same sets builds nothing.
            let again = try await runFlowctl(["addOrUpdateFlow", try writeFlow(Self.flow("deps2", p), in: p.dir)],
                                             environment: ["FLOWCTL_SERVER": server.url])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(!again.stderr.contains("] ok: "), "\(again.stderr)")
            #expect(try await server.rpc("listDependencies")["result"]!.arrayValue!.count == 3)

            // Removal is refused while used, naming the users; allowed once they are gone.
            let oldEnv = list.first { $0["modules"]!.arrayValue!.contains("deps/old") }!["id"]!.stringValue!
            let refused = try await runFlowctl(["removeDependencies", oldEnv], environment: ["FLOWCTL_SERVER": server.url])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("deps/old") && refused.stderr.contains("deps2/old"), "\(refused.stderr)")
            _ = try await server.rpc("removeFlow", ["flowId": "deps"])
            _ = try await server.rpc("removeFlow", ["flowId": "deps2"])
            #expect(try await server.rpc("removeDependencies", ["envId": .string(oldEnv)])["result"] == true)
            #expect(try await server.rpc("listDependencies", ["runtimeId": "python3"])["result"]!.arrayValue!.count == 1)
        }
    }

    @Test func twoFlowsDeployedAtOnce_withOneNewSet_buildItOnce() async throws {
        let p = try Packages()
        defer { p.cleanUp() }
        try await withServer { server in
            let tail = try ChildProcess(Repo.flowctl, ["tail", "--events", "dependencies"], environment: ["FLOWCTL_SERVER": server.url])
            defer { Task { await tail.terminate() } }
            try await tail.waitForStderr("following") { $0.contains("following") }
            func flow(_ id: String) -> JSONValue { ["id": .string(id), "modules": [Self.pyModule("m", [p.v2])]] }
            async let first = server.rpc("addOrUpdateFlow", ["flow": flow("twin1")])
            async let second = server.rpc("addOrUpdateFlow", ["flow": flow("twin2")])
            let replies = try await [first, second]
            #expect(replies.allSatisfy { $0["result"] == true }, "\(replies)")
            try await tail.waitForStdout("ok") { $0.contains("\"phase\":\"ok\"") }
            #expect(tail.stdout.filter { $0.contains("\"phase\":\"started\"") }.count == 1, "\(tail.stdout)")
            let list = try await server.rpc("listDependencies")["result"]!.arrayValue!
            #expect(list.count == 1)
            #expect(Set(list[0]["modules"]!.arrayValue!.compactMap(\.stringValue)) == ["twin1/m", "twin2/m"])
            let status = try await server.rpc("getFlow", ["flowId": "twin1"])["result"]!
            #expect(status["instances"]?.arrayValue?.first?["environment"]?.stringValue == list[0]["id"]?.stringValue)
        }
    }

    /// An install longer than two of the server's WebSocket keep-alive pings
    /// (20 s each): `flowctl` follows it to the end. The "uv" here is a
    /// script (`POLYFLOW_UV`) that talks for 45 s, then installs with pip.
    @Test func anInstallOfMinutes_isFollowedToItsEnd() async throws {
        let p = try Packages()
        defer { p.cleanUp() }
        let uv = p.dir + "/slow-uv"
        try """
        #!/bin/sh
        # called as: uv pip install --python TARGET --no-progress SPEC...
        target="$4"; shift 5
        for i in 1 2 3 4 5 6 7 8 9; do echo "slow installer: step $i"; sleep 5; done
        exec python3 -m pip --python "$target" install --disable-pip-version-check "$@"
        """.write(toFile: uv, atomically: true, encoding: .utf8)
        chmod(uv, 0o755)
        try await withServer(environment: ["POLYFLOW_UV": uv]) { server in
            let install = try ChildProcess(Repo.flowctl, ["installDependencies", "python3", p.v1], environment: ["FLOWCTL_SERVER": server.url])
            let status = try await install.waitForExit(timeout: .seconds(240))
            #expect(status == 0, "\(install.stderr)")
            #expect(install.stderr.contains { $0.contains("slow installer: step 9") }, "\(install.stderr)")
            #expect(install.stderr.contains { $0.contains("] ok: ") }, "\(install.stderr)")
            let list = try await server.rpc("listDependencies")["result"]!.arrayValue!
            #expect(list.map { $0["installer"] } == ["uv"])
        }
    }

    @Test func failedInstall_failsTheCallNamingTheModule_andTheRunningVersionGoesOn() async throws {
        let p = try Packages()
        defer { p.cleanUp() }
        try await withServer { server in
            let v1: JSONValue = ["id": "keep", "modules": [
                ["id": "m", "runtime": "python3", "code": "def on_message(msg, ctx):\n    return 'v1'\n"]]]
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": v1])["result"] == true)
            let v2: JSONValue = ["id": "keep", "modules": [
                ["id": "m", "runtime": "python3", "dependencies": ["/nonexistent/polyflow-missing-1.0-py3-none-any.whl"],
                 "code": "def on_message(msg, ctx):\n    return 'v2'\n"]]]
            let reply = try await server.rpc("addOrUpdateFlow", ["flow": v2])
            let message = reply["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("\"m\"") && message.contains("polyflow-missing"), "\(reply)")
            #expect(reply["error"]?["data"]?["code"] == "dependencies-failed")
            let got = try await server.rpc("getFlow", ["flowId": "keep"])["result"]!
            #expect(got["revision"] == 1 && got["status"] == "running")
            let tail = try ChildProcess(Repo.flowctl, ["tail", "keep", "--events", "output"], environment: ["FLOWCTL_SERVER": server.url])
            defer { Task { await tail.terminate() } }
            try await tail.waitForStderr("following") { $0.contains("following") }
            _ = try await server.rpc("inject", ["flowModuleId": "keep/m", "payload": 1])
            try await tail.waitForStdout("v1 output") { $0.contains("\"payload\":\"v1\"") }
            #expect(try await server.rpc("listDependencies")["result"]!.arrayValue!.isEmpty)
        }
    }

    @Test func installDependencies_showsProgress_andEnvironmentsSurviveARestart() async throws {
        let p = try Packages()
        defer { p.cleanUp() }
        let state = tempDirectory("deps-state")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let first = try await PolyflowServer.start(stateDirectory: state)
        var envId = ""
        do {
            let installed = try await runFlowctl(["installDependencies", "python3", p.v1], environment: ["FLOWCTL_SERVER": first.url])
            #expect(installed.status == 0, "\(installed.stderr)")
            envId = installed.json?["envId"]?.stringValue ?? ""
            #expect(envId.hasPrefix("python3-"))
            #expect(installed.stderr.contains("[\(envId)] ok: "), "\(installed.stderr)")
            let bad = try await runFlowctl(["installDependencies", "python3", "--", "--index-url=http://x"], environment: ["FLOWCTL_SERVER": first.url])
            #expect(bad.status != 0 && bad.stderr.contains("option"), "\(bad.stderr)")
            #expect(try await first.stop() == 0)
            try? FileManager.default.removeItem(atPath: first.runtimeDirectory)
        } catch {
            await first.cleanUp()
            throw error
        }
        let second = try await PolyflowServer.start(stateDirectory: state)
        do {
            let listed = try await runFlowctl(["listDependencies"], environment: ["FLOWCTL_SERVER": second.url])
            #expect(listed.json?.arrayValue?.map { $0["id"]?.stringValue } == [envId])
            // Installing it again finds it: no build.
            let again = try await runFlowctl(["installDependencies", "python3", p.v1], environment: ["FLOWCTL_SERVER": second.url])
            #expect(again.json?["envId"]?.stringValue == envId && !again.stderr.contains("ok: "), "\(again.stderr)")
        } catch {
            await second.cleanUp()
            throw error
        }
        await second.cleanUp()
    }

    /// The real `uv` (from PyPI; `scripts/test` installs it and names it in `POLYFLOW_TEST_UV`), and pip
    /// when uv is turned off: each builds a working environment and `listDependencies` says which did.
    @Test(arguments: ["uv", "pip"])
    func bothInstallersBuildAWorkingEnvironment(installer: String) async throws {
        var environment: [String: String] = ["POLYFLOW_UV": "off"]
        if installer == "uv" {
            guard let uv = ProcessInfo.processInfo.environment["POLYFLOW_TEST_UV"], FileManager.default.isExecutableFile(atPath: uv) else {
                #expect(ProcessInfo.processInfo.environment["CI"] != "true", "CI=true but POLYFLOW_TEST_UV names no uv: scripts/test installs it (scripts/ensure-uv)")
                return
            }
            environment["POLYFLOW_UV"] = uv
        }
        let p = try Packages()
        defer { p.cleanUp() }
        try await withServer(environment: environment) { server in
            let flow: JSONValue = ["id": "inst", "modules": [Self.pyModule("m", [p.v2])]]
            let deployed = try await runFlowctl(["addOrUpdateFlow", try writeFlow(flow, in: p.dir)], environment: ["FLOWCTL_SERVER": server.url])
            #expect(deployed.status == 0, "\(deployed.stderr)")
            let list = try await server.rpc("listDependencies")["result"]?.arrayValue ?? []
            #expect(list.map { $0["installer"] } == [.string(installer)], "\(list)")
            let tail = try ChildProcess(Repo.flowctl, ["tail", "inst", "--events", "output"], environment: ["FLOWCTL_SERVER": server.url])
            defer { Task { await tail.terminate() } }
            try await tail.waitForStderr("following") { $0.contains("following") }
            _ = try await server.rpc("inject", ["flowModuleId": "inst/m", "payload": "go"])
            try await tail.waitForStdout("m with pfver 2") { $0.contains("\"version\":\"2.0.0\"") }
        }
    }

    /// A joined runner builds the environments of the modules placed on it, at deploy, and
    /// `listDependencies` lists them with the runner they are on.
    @Test func aJoinedRunnerBuildsTheEnvironmentsOfItsModules() async throws {
        let p = try Packages()
        defer { p.cleanUp() }
        try await withServer(extraArguments: ["--tags", "home"]) { server in
            let runner = try await JoinedRunner.start(joining: server, name: "gpu-1", tags: ["gpu"])
            defer { Task { await runner.stop() } }
            var module = Self.pyModule("m", [p.v1])
            if case .object(var o) = module { o["requireTags"] = ["gpu"]; module = .object(o) }
            let flow: JSONValue = ["id": "far", "modules": [module]]
            let deployed = try await runFlowctl(["addOrUpdateFlow", try writeFlow(flow, in: p.dir)], environment: ["FLOWCTL_SERVER": server.url])
            #expect(deployed.status == 0, "\(deployed.stderr)")
            #expect(try await server.runnersOfModules("far")["m"] == "gpu-1")
            let tail = try ChildProcess(Repo.flowctl, ["tail", "far", "--events", "output"], environment: ["FLOWCTL_SERVER": server.url])
            defer { Task { await tail.terminate() } }
            try await tail.waitForStderr("following") { $0.contains("following") }
            _ = try await server.rpc("inject", ["flowModuleId": "far/m", "payload": "go"])
            try await tail.waitForStdout("m with pfver 1 on gpu-1") { $0.contains("\"version\":\"1.0.0\"") }
            let list = try await server.rpc("listDependencies")["result"]?.arrayValue ?? []
            #expect(list.contains { $0["runner"] == "gpu-1" && $0["modules"]?.arrayValue?.contains("far/m") == true }, "\(list)")
            #expect(!list.contains { $0["runner"] == "local" }, "nothing was built on the embedded runner: \(list)")
        }
    }
}
