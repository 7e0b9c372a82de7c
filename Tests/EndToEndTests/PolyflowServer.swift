import FlowModel
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Paths of the repository and the built `flowctl`.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static var examples: String { root + "/examples/flows" }

    /// `flowctl` next to the test bundle (`swift build` builds it), or `$FLOWCTL_BIN`.
    static var flowctl: String {
        if let bin = ProcessInfo.processInfo.environment["FLOWCTL_BIN"] { return bin }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("flowctl").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return root + "/.build/debug/flowctl"
    }
}

func tempDirectory(_ name: String) -> String {
    let dir = NSTemporaryDirectory() + "polyflow-e2e-\(name)-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// `flowctl serve` as a real process on a free port, with its own state and fifo directories.
final class PolyflowServer: Sendable {
    let process: ChildProcess
    let url: String
    let stateDirectory: String
    let runtimeDirectory: String
    let environment: [String: String]

    /// The fifo directory of this server's runner.
    var fifoDirectory: String { runtimeDirectory + "/polyflow" }

    private init(process: ChildProcess, url: String, stateDirectory: String, runtimeDirectory: String, environment: [String: String]) {
        self.process = process; self.url = url; self.stateDirectory = stateDirectory
        self.runtimeDirectory = runtimeDirectory; self.environment = environment
    }

    static func start(flows: [String] = [], stateDirectory: String? = nil, runtimeDirectory: String? = nil,
                      extraArguments: [String] = [], environment: [String: String] = [:], port: Int = 0) async throws -> PolyflowServer {
        let state = stateDirectory ?? tempDirectory("state")
        let runtime = runtimeDirectory ?? tempDirectory("run")
        var env = environment
        env["XDG_RUNTIME_DIR"] = runtime
        env["POLYFLOW_RUNTIMES"] = Repo.root + "/runtimes"
        let process = try ChildProcess(Repo.flowctl, ["serve", "--port", "\(port)", "--state-dir", state] + extraArguments + flows,
                                       environment: env)
        let line: String
        do {
            line = try await process.waitForStdout("the listening line") { $0.contains("\"listening\"") }
        } catch {
            await process.terminate()
            throw error
        }
        let url = try JSONValue(parsing: Data(line.utf8))["listening"]!.stringValue!
        return PolyflowServer(process: process, url: url, stateDirectory: state, runtimeDirectory: runtime, environment: env)
    }

    /// Runs `flowctl ARGS` against this server.
    func flowctl(_ arguments: String...) async throws -> CommandResult {
        try await runFlowctl(arguments, environment: ["FLOWCTL_SERVER": url])
    }

    /// One JSON-RPC call over HTTP; returns the whole response object.
    func rpc(_ method: String, _ params: JSONValue = .object([:])) async throws -> JSONValue {
        var request = URLRequest(url: URL(string: url + "/rpc")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(JSONValue.object(["jsonrpc": "2.0", "id": .int(1), "method": .string(method), "params": params]).jsonText.utf8)
        let (data, _) = try await URLSession.shared.data(for: request)
        return try JSONValue(parsing: data)
    }

    func status(_ flow: String) async throws -> JSONValue {
        try await rpc("getFlow", .object(["flowId": .string(flow)]))["result"] ?? .null
    }

    /// Runtime pids of a flow, from getFlow.
    func pids(_ flow: String) async throws -> [Int32] {
        guard case .array(let instances)? = try await status(flow)["instances"] else { return [] }
        return instances.compactMap { $0["pid"]?.intValue.map(Int32.init) }
    }

    var fifoEntries: [String] { (try? FileManager.default.contentsOfDirectory(atPath: fifoDirectory)) ?? [] }

    /// SIGTERM, then wait for a clean exit.
    @discardableResult
    func stop() async throws -> Int32 {
        process.signal(SIGTERM)
        return try await process.waitForExit(timeout: .seconds(30))
    }

    /// Stops the server (killing it if need be) and removes its directories.
    func cleanUp() async {
        if process.exitStatus == nil {
            process.signal(SIGTERM)
            if (try? await process.waitForExit(timeout: .seconds(15))) == nil { await process.terminate() }
        }
        try? FileManager.default.removeItem(atPath: stateDirectory)
        try? FileManager.default.removeItem(atPath: runtimeDirectory)
    }
}

struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var json: JSONValue? { try? JSONValue(parsing: Data(stdout.utf8)) }
}

func runFlowctl(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
    try await runCommand(Repo.flowctl, arguments, environment: environment)
}

func runCommand(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
    let p = try ChildProcess(executable, arguments, environment: environment)
    let status = try await p.waitForExit(timeout: .seconds(60))
    return CommandResult(status: status, stdout: p.stdout.joined(separator: "\n"), stderr: p.stderr.joined(separator: "\n"))
}

/// Runs `body` with a started server and always cleans it up.
func withServer(flows: [String] = [], extraArguments: [String] = [], environment: [String: String] = [:],
                _ body: (PolyflowServer) async throws -> Void) async throws {
    let server = try await PolyflowServer.start(flows: flows, extraArguments: extraArguments, environment: environment)
    do { try await body(server) } catch {
        await server.cleanUp()
        throw error
    }
    await server.cleanUp()
}

func processAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    return !stat.contains(") Z ")
}

func eventually(_ what: String, timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        if ContinuousClock.now > deadline { throw TimedOut(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(25))
    }
}
