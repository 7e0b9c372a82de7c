import ArgumentParser
import FlowModel
import Foundation
import Logging
import NIOPosix
import PipeBridge
import RunnerHost
import RunnerProtocol
import ServiceLifecycle

/// `flowctl runner --join URL`: a runner that joins a dispatcher over
/// WebSocket and runs the modules placed on it (docs/runner-protocol.md).
struct JoinRunner: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runner",
        abstract: "Join a Polyflow dispatcher as a runner and run the modules it places here; reconnects with back-off.")

    @Option(help: "The dispatcher, e.g. http://127.0.0.1:7770 (ws:// and https:// work too).")
    var join: String

    @Option(help: "This runner's name, unique among the dispatcher's runners (default: the host name).")
    var name: String?

    @Option(help: "Tags, comma-separated: modules whose \"tags\" match prefer this runner; \"requireTags\" must match.")
    var tags: String?

    @Option(help: "The dispatcher's token, when it has one (env FLOWCTL_TOKEN).")
    var token: String?

    @Option(name: .customLong("state-dir"), help: "Where this runner keeps what it builds (default $XDG_STATE_HOME/polyflow/runner-NAME).")
    var stateDir: String?

    @Option(help: "Seconds between heartbeats (the dispatcher's welcome may set another).")
    var heartbeat = 1.0

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        try await reportingErrors {
            try LogSetup.bootstrap(logLevel)
            let name = try RunnerName.resolve(self.name)
            let tags = try RunnerTags.parse(tags, option: "--tags")
            let url = try RunnerName.runnersURL(join)
            guard heartbeat >= 0.05, heartbeat <= 60 else { throw CLIError("--heartbeat \(heartbeat): expected seconds between 0.05 and 60") }
            let token = (self.token ?? ProcessInfo.processInfo.environment["FLOWCTL_TOKEN"]).flatMap { $0.isEmpty ? nil : $0 }
            let stateDirectory = stateDir ?? (PrivateDirectory.defaultStateDirectory() + "/runner-\(name.rawValue)")
            do { try PrivateDirectory.prepare(stateDirectory, allowSymlink: false) } catch {
                throw CLIError("cannot use state directory \(error); choose another with --state-dir")
            }
            let runnerConfiguration = RunnerConfiguration()
            do { try PrivateDirectory.prepare(runnerConfiguration.fifoDirectory, allowSymlink: false) } catch {
                throw CLIError("cannot use the fifo directory \(error)")
            }
            let logger = Logger(label: "polyflow-runner")
            let connection = DispatcherConnection(
                url: url, token: token, name: name, tags: tags, heartbeat: .milliseconds(Int(heartbeat * 1000)),
                configuration: runnerConfiguration, logger: logger)
            // As `serve` stops: on SIGTERM or SIGINT the runtimes stop first (their last acks still reach
            // the dispatcher, children reaped, fifos removed), then the connection closes. A refusal ends
            // the connection, and with it the runner.
            var group = ServiceGroupConfiguration(
                services: [.init(service: connection, successTerminationBehavior: .gracefullyShutdownGroup),
                           .init(service: RunnerHostService(host: connection.host))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            group.maximumGracefulShutdownDuration = .seconds(20)
            group.maximumCancellationDuration = .seconds(5)
            try await ServiceGroup(configuration: group).run()
            if case .refused(let message) = connection.outcome { throw CLIError("the dispatcher at \(join) refused this runner: \(message)") }
        }
    }
}

enum RunnerName {
    /// `--name`, or the host name made into a runner id.
    static func resolve(_ given: String?) throws -> RunnerID {
        if let given {
            guard Identifier.isValid(given) else {
                throw CLIError("--name \(given): expected 1 to 64 letters, digits, \"_\" or \"-\"")
            }
            return RunnerID(given)
        }
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "runner"
        let cleaned = String(host.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }.prefix(64))
        return RunnerID(cleaned.isEmpty ? "runner" : cleaned)
    }

    /// `http://h:p` → `ws://h:p/runners`.
    static func runnersURL(_ join: String) throws -> String {
        var url = join
        if url.hasPrefix("http://") { url = "ws://" + url.dropFirst(7) }
        else if url.hasPrefix("https://") { url = "wss://" + url.dropFirst(8) }
        guard url.hasPrefix("ws://") || url.hasPrefix("wss://") else {
            throw CLIError("--join \(join): expected the dispatcher's address, e.g. http://127.0.0.1:7770")
        }
        while url.hasSuffix("/") { url.removeLast() }
        if !url.hasSuffix(RunnerProtocol.path) { url += RunnerProtocol.path }
        return url
    }
}

/// The runner's runtimes, as a service: at shutdown every flow stops and every runtime is reaped.
struct RunnerHostService: Service {
    let host: RunnerHost
    func run() async throws {
        try? await gracefulShutdown()
        await host.shutdown()
    }
}
