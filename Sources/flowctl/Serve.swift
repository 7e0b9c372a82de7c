import ArgumentParser
import Dispatcher
import FlowModel
import Foundation
import Logging
import RunnerHost

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the dispatcher with a local runner; deploy and start the given flows.")

    @Argument(help: "Flow files to deploy and start.")
    var flows: [String] = []

    @Option(help: "Address to bind; anything but loopback needs --token.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one and prints it).")
    var port = 7770

    @Option(name: .customLong("state-dir"), help: "Where deployed flows and dependency environments are kept (default $XDG_STATE_HOME/polyflow or ~/.local/state/polyflow).")
    var stateDir: String?

    @Option(help: "A secret every API client must present (env FLOWCTL_TOKEN).")
    var token: String?

    @Option(name: .customLong("allow-origin"), help: "An origin (e.g. http://localhost:3000) whose pages may use the API besides the server's own; repeatable.")
    var allowOrigins: [String] = []

    @Option(name: .customLong("allow-host"), help: "A name the server may be reached by (the Host header) besides loopback or the bound address; repeatable.")
    var allowHosts: [String] = []

    @Option(name: .customLong("max-connections"), help: "Open client connections at most (HTTP and WebSocket); more get 503.")
    var maxConnections = 512

    @Option(name: .customLong("header-timeout"), help: "Seconds a client has to send a request head before it is closed.")
    var headerTimeout = 10.0

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Flag(name: .customLong("no-local-runner"), help: "Run no modules in this process: every module runs on runners that join (flowctl runner --join).")
    var noLocalRunner = false

    @Option(help: "Tags of the embedded runner, comma-separated (modules' \"tags\" prefer runners that have them).")
    var tags: String?

    @Option(help: "Seconds between heartbeats with joined runners; one silent for 3 of them is lost, one whose connection ended and that does not reconnect within 1 of them too.")
    var heartbeat = 1.0

    @Option(name: .customLong("runner-outbox-mib"), help: "MiB of data the dispatcher holds for one joined runner that does not read; past it the runner is cut off.")
    var runnerOutboxMiB = 256

    func run() async throws {
        try await reportingErrors {
            try LogSetup.bootstrap(logLevel)
            let initial = try flows.map { try FlowFile.load($0).1 }
            for origin in allowOrigins where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) || origin.dropFirst(8).contains("/") {
                throw CLIError("--allow-origin \(origin): expected scheme://host[:port], e.g. http://localhost:3000")
            }
            // An empty token (`--token ""`, FLOWCTL_TOKEN= in a script) is no token: never a secret anyone can send.
            let token = (self.token ?? ProcessInfo.processInfo.environment["FLOWCTL_TOKEN"]).flatMap { $0.isEmpty ? nil : $0 }
            let stateDirectory = stateDir ?? StateStore.defaultDirectory()
            var configuration = DispatcherConfiguration(
                host: host, port: port, stateDirectory: stateDirectory, token: token,
                runner: RunnerConfiguration(environmentsDirectory: stateDirectory + "/environments"), initialFlows: initial)
            configuration.allowedOrigins = allowOrigins
            configuration.allowedHosts = allowHosts
            guard maxConnections > 0 else { throw CLIError("--max-connections \(maxConnections): expected a positive number") }
            guard headerTimeout > 0 else { throw CLIError("--header-timeout \(headerTimeout): expected a positive number of seconds") }
            configuration.limits.maxConnections = maxConnections
            configuration.limits.headerTimeout = .milliseconds(Int(headerTimeout * 1000))
            configuration.localRunner = !noLocalRunner
            configuration.localTags = try RunnerTags.parse(tags, option: "--tags")
            guard heartbeat >= 0.05, heartbeat <= 60 else { throw CLIError("--heartbeat \(heartbeat): expected seconds between 0.05 and 60") }
            configuration.heartbeat = .milliseconds(Int(heartbeat * 1000))
            guard runnerOutboxMiB >= 1, runnerOutboxMiB <= 65_536 else {
                throw CLIError("--runner-outbox-mib \(runnerOutboxMiB): expected a number of MiB between 1 and 65536")
            }
            configuration.runnerOutboxBytes = runnerOutboxMiB * 1024 * 1024
            let dispatcher = Dispatcher(configuration: configuration, logger: Logger(label: "polyflow"))
            let host = self.host
            do {
                try await dispatcher.run { port in
                    printJSON("{\"listening\":\"http://\(host):\(port)\"}")
                }
            } catch let error as DispatcherStartError {
                throw CLIError(error.description)
            }
        }
    }
}
