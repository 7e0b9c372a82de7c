import ArgumentParser
import Foundation

/// Options every client command shares.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The Polyflow server (env FLOWCTL_SERVER).")
    var server: String = ProcessInfo.processInfo.environment["FLOWCTL_SERVER"] ?? "http://127.0.0.1:7770"

    @Option(name: .long, help: "The server's token, when it has one (env FLOWCTL_TOKEN).")
    var token: String?

    var client: RPCClient { RPCClient(server: server, token: token ?? ProcessInfo.processInfo.environment["FLOWCTL_TOKEN"]) }
}
