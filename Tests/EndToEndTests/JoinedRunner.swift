import FlowModel
import Foundation

/// `flowctl runner --join` as a real process with its own state and fifo directories.
final class JoinedRunner: Sendable {
    let name: String
    let process: ChildProcess
    let stateDirectory: String
    let runtimeDirectory: String

    private init(name: String, process: ChildProcess, stateDirectory: String, runtimeDirectory: String) {
        self.name = name; self.process = process; self.stateDirectory = stateDirectory; self.runtimeDirectory = runtimeDirectory
    }

    /// Starts a runner and waits until the dispatcher has welcomed it.
    /// - Parameter url: where to join (default the server's own address; a proxy in the partition tests).
    static func start(joining server: PolyflowServer, url: String? = nil, name: String, tags: [String] = [], extraArguments: [String] = [],
                      waitForWelcome: Bool = true) async throws -> JoinedRunner {
        let state = tempDirectory("runner-state")
        let runtime = tempDirectory("runner-run")
        var arguments = ["runner", "--join", url ?? server.url, "--name", name, "--state-dir", state]
        if !tags.isEmpty { arguments += ["--tags", tags.joined(separator: ",")] }
        let process = try ChildProcess(Repo.flowctl, arguments + extraArguments,
                                       environment: ["XDG_RUNTIME_DIR": runtime, "POLYFLOW_RUNTIMES": Repo.root + "/runtimes"])
        let runner = JoinedRunner(name: name, process: process, stateDirectory: state, runtimeDirectory: runtime)
        if waitForWelcome {
            do {
                try await process.waitForStderr("the welcome of \(name)") { $0.contains("joined as \(name) ") }
            } catch {
                await runner.stop()
                throw error
            }
        }
        return runner
    }

    /// SIGTERM (its runtimes are reaped), then SIGKILL if it lingers; removes its directories.
    func stop() async {
        await stopProcess()
        try? FileManager.default.removeItem(atPath: stateDirectory)
        try? FileManager.default.removeItem(atPath: runtimeDirectory)
    }

    /// SIGTERM, then SIGKILL if it lingers (30 s: it stops its runtimes, each with a 5 s grace,
    /// on a machine that may be loaded); keeps its directories.
    func stopProcess() async {
        if process.exitStatus == nil {
            process.signal(SIGTERM)
            if (try? await process.waitForExit(timeout: .seconds(30))) == nil { await process.terminate() }
        }
    }

    /// What is left in its fifo directory (the directories of runtime processes not cleaned up).
    func fifoLeftovers() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: runtimeDirectory + "/polyflow")) ?? []
    }
}

/// A server and runners joined to it, all stopped at the end whatever happens.
func withRunners(serverArguments: [String] = [], runners: [(name: String, tags: [String])],
                 _ body: (PolyflowServer, [JoinedRunner]) async throws -> Void) async throws {
    try await withServer(extraArguments: serverArguments) { server in
        var joined: [JoinedRunner] = []
        do {
            for r in runners { joined.append(try await JoinedRunner.start(joining: server, name: r.name, tags: r.tags)) }
            try await body(server, joined)
        } catch {
            for r in joined { await r.stop() }
            throw error
        }
        for r in joined { await r.stop() }
    }
}

extension PolyflowServer {
    /// Outputs of `flow` as `flowctl tail` prints them: `{flow, module, port, payload}` objects.
    func tail(_ flow: String) async throws -> ChildProcess {
        let tail = try ChildProcess(Repo.flowctl, ["tail", flow, "--events", "output"], environment: ["FLOWCTL_SERVER": url])
        do { try await tail.waitForStderr("subscribed") { $0.contains("following") } } catch {
            await tail.terminate()
            throw error
        }
        return tail
    }

    /// The runner each module of `flow` runs on, as `getFlow` shows it.
    func runnersOfModules(_ flow: String) async throws -> [String: String] {
        var out: [String: String] = [:]
        for m in try await status(flow)["modules"]?.arrayValue ?? [] {
            if let id = m["id"]?.stringValue { out[id] = m["runner"]?.stringValue ?? m["state"]?.stringValue ?? "?" }
        }
        return out
    }
}
