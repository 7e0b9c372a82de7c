import FlowModel
import Foundation
import Logging
import NIOPosix
import RunnerProtocol
import Testing
@testable import PipeBridge
@testable import RunnerHost

/// A real `RunnerHost` with real runtime processes, a private fifo directory
/// and an event recorder. Call `shutdown()` at the end of each test.
struct RunnerHarness {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static var runtimesDirectory: String { repoRoot.appendingPathComponent("runtimes").path }

    let host: RunnerHost
    let recorder = EventRecorder()
    let fifoDirectory: String

    init(runtimesDirectory: String = Self.runtimesDirectory,
         searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
         window: Int = PipeProtocol.defaultWindow, queueBound: Int = 10_000, maxFrameBytes: Int = PipeProtocol.defaultMaxFrameBytes,
         supervision: SupervisionStateMachine.Policy = .init(), clock: any Clock<Duration> = ContinuousClock()) {
        fifoDirectory = NSTemporaryDirectory() + "polyflow-test-\(UUID().uuidString.prefix(8))"
        var configuration = RunnerConfiguration(
            fifoDirectory: fifoDirectory, runtimesDirectory: runtimesDirectory, searchPath: searchPath,
            maxFrameBytes: maxFrameBytes, window: window, queueBound: queueBound, supervision: supervision,
            environmentsDirectory: fifoDirectory + "-environments")
        configuration.clock = clock
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let recorder = recorder
        host = RunnerHost(configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                          logger: logger, events: { recorder.record($0) })
    }

    /// Stops everything and checks that no fifo directory is left behind.
    func shutdown() async {
        await host.shutdown()
        rmdir(fifoDirectory)
        try? FileManager.default.removeItem(atPath: fifoDirectory + "-environments")
    }

    var fifoEntries: [String] { (try? FileManager.default.contentsOfDirectory(atPath: fifoDirectory)) ?? [] }

    static func flow(_ json: String) throws -> FlowDocument {
        try FlowValidator(requireInlineCode: true).validate(Data(json.utf8))
    }

    func deployAndStart(_ json: String) async throws -> FlowDocument {
        let flow = try Self.flow(json)
        try await host.deploy(flow)
        try await host.start(flow.id)
        return flow
    }

    func inject(_ flow: String, _ module: String, _ payload: String, port: String? = nil) async throws {
        try await host.inject(FlowID(flow), module: ModuleID(module), port: port.map(PortName.init), payload: payload)
    }
}

/// Whether a process is still alive (and not a zombie).
func processAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    return !stat.contains(") Z ")
}

/// Inline module code as a JSON string literal.
func js(_ code: String) -> String {
    String(decoding: try! JSONEncoder().encode(code), as: UTF8.self)
}

/// Runs `body` with a fresh runner and shuts it down afterwards, also when `body` throws.
func withRunner(runtimesDirectory: String = RunnerHarness.runtimesDirectory,
                searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                window: Int = PipeProtocol.defaultWindow, queueBound: Int = 10_000,
                maxFrameBytes: Int = PipeProtocol.defaultMaxFrameBytes,
                supervision: SupervisionStateMachine.Policy = .init(), clock: any Clock<Duration> = ContinuousClock(),
                _ body: (RunnerHarness) async throws -> Void) async throws {
    let h = RunnerHarness(runtimesDirectory: runtimesDirectory, searchPath: searchPath, window: window,
                          queueBound: queueBound, maxFrameBytes: maxFrameBytes, supervision: supervision, clock: clock)
    do {
        try await body(h)
    } catch {
        await h.shutdown()
        throw error
    }
    await h.shutdown()
    #expect(h.fifoEntries.isEmpty, "no fifos left after shutdown")
}

/// Polls `condition` until it holds or `timeout` passes, for values that are
/// not events (counters the runtimes report every 200 ms).
func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        if ContinuousClock.now > deadline { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(20))
    }
}
