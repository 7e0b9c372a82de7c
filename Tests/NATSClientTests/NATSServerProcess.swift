import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import NATSClient

/// A real `nats-server` on a free loopback port, for one test: started with
/// the given arguments, ready when it logs so, killed and its store removed at the end.
final class NATSServerProcess: @unchecked Sendable {
    let port: Int
    let process = Process()
    let storeDirectory: String
    private let log = NSLock()
    private var lines: [String] = []

    static var binary: String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/local/sbin"
        return path.split(separator: ":").map { "\($0)/nats-server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Whether the live-server tests run: when nats-server is installed, and always with `CI=true`
    /// (where a missing server is a failure that says so, not a skip).
    static var shouldRun: Bool { binary != nil || ProcessInfo.processInfo.environment["CI"] == "true" }

    /// - Parameter arguments: more flags (`--auth TOKEN`, `-js`…).
    /// - Parameter port: a fixed port (a restarted server on the same address); a free one when nil.
    init(_ arguments: [String] = [], port fixedPort: Int? = nil) async throws {
        guard let binary = Self.binary else {
            throw NATSError.unreachable("nats-server", reason: "nats-server is not installed (Debian: apt-get install nats-server; .ci/run installs it)")
        }
        port = try fixedPort ?? Self.freePort()
        storeDirectory = NSTemporaryDirectory() + "polyflow-nats-\(UUID().uuidString.prefix(8))"
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-a", "127.0.0.1", "-p", "\(port)", "-sd", storeDirectory] + arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Bool.self)
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard !data.isEmpty, let self else { readyContinuation.finish(); return }
            let text = String(decoding: data, as: UTF8.self)
            self.log.withLock { self.lines += text.split(separator: "\n").map(String.init) }
            if text.contains("Server is ready") { readyContinuation.yield(true) }
        }
        try process.run()
        let isReady = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { for await r in ready { return r }; return false }
            group.addTask { try await Task.sleep(for: .seconds(15)); return false }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        guard isReady else {
            stop()
            throw NATSError.unreachable("nats-server on port \(port)", reason: "not ready within 15 s: \(output.suffix(5))")
        }
    }

    var address: NATSServerAddress { NATSServerAddress(host: "127.0.0.1", port: port) }
    var output: [String] { log.withLock { lines } }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: storeDirectory)
    }

    /// A port no one listens on now: bound to 0, read, closed.
    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        return channel.localAddress?.port ?? 0
    }
}

/// Runs `body` with a fresh server and stops it afterwards, also when `body` throws.
func withNATSServer(_ arguments: [String] = [], _ body: (NATSServerProcess) async throws -> Void) async throws {
    let server = try await NATSServerProcess(arguments)
    do { try await body(server) } catch {
        server.stop()
        throw error
    }
    server.stop()
}

extension NATSClient.ReconnectPolicy {
    /// For tests that run beside the whole suite on two cores: a handshake may take seconds there.
    static let patient = NATSClient.ReconnectPolicy(attemptTimeout: .seconds(15))
}
