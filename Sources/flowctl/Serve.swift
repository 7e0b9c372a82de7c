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

    @Option(name: .customLong("state-dir"), help: "Where deployed flows are kept (default $XDG_STATE_HOME/polyflow or ~/.local/state/polyflow).")
    var stateDir: String?

    @Option(help: "A secret every API client must present (env FLOWCTL_TOKEN).")
    var token: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        try await reportingErrors {
            guard let level = Logger.Level(rawValue: logLevel) else {
                throw CLIError("--log-level \(logLevel): expected one of trace, debug, info, notice, warning, error, critical")
            }
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let initial = try flows.map { try FlowFile.load($0).1 }
            // An empty token (`--token ""`, FLOWCTL_TOKEN= in a script) is no token: never a secret anyone can send.
            let token = (self.token ?? ProcessInfo.processInfo.environment["FLOWCTL_TOKEN"]).flatMap { $0.isEmpty ? nil : $0 }
            let configuration = DispatcherConfiguration(
                host: host, port: port, stateDirectory: stateDir ?? StateStore.defaultDirectory(), token: token,
                runner: RunnerConfiguration(), initialFlows: initial)
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
