import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// How a runtime process ended.
public enum ProcessExit: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signalled(let sig): "was killed by signal \(sig)\(sig == SIGKILL ? " (SIGKILL)" : sig == SIGTERM ? " (SIGTERM)" : "")"
        }
    }
}

/// Which output stream of a process a log line came from.
public enum ProcessStream: String, Sendable, Codable { case stdout, stderr }

/// A spawned runtime process with its stdout and stderr read line by line.
///
/// Ownership: Foundation's `Process` reaps the child and calls `onExit` once.
/// The stdout/stderr pipes are closed by Foundation when they reach end of
/// file. Whoever spawned the process calls `terminate()`/`kill()` and waits
/// for `onExit` before it removes the instance's fifos.
public final class RuntimeProcess: @unchecked Sendable {
    private let process: Process
    public let pid: Int32

    /// Spawns `executable` with `arguments`; stdin is /dev/null.
    public init(
        executable: String,
        arguments: [String],
        environment: [String: String]? = nil,
        onOutput: @escaping @Sendable (ProcessStream, String) -> Void,
        onExit: @escaping @Sendable (ProcessExit) -> Void
    ) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        let out = Pipe().closeOnExec(), err = Pipe().closeOnExec()
        process.standardOutput = out
        process.standardError = err
        for (pipe, stream) in [(out, ProcessStream.stdout), (err, ProcessStream.stderr)] {
            let splitter = LineSplitter { onOutput(stream, $0) }
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    splitter.finish()
                } else {
                    splitter.feed(data)
                }
            }
        }
        process.terminationHandler = { p in
            let exit: ProcessExit = p.terminationReason == .uncaughtSignal ? .signalled(p.terminationStatus) : .exited(p.terminationStatus)
            onExit(exit)
        }
        do {
            try process.run()
        } catch {
            throw PipeBridgeError.spawnFailed("could not start \(executable): \(error.localizedDescription)")
        }
        self.process = process
        self.pid = process.processIdentifier
    }

    /// Asks the process to stop (SIGTERM).
    public func terminate() { Glibc.kill(pid, SIGTERM) }

    /// Kills the process at once (SIGKILL).
    public func kill() { Glibc.kill(pid, SIGKILL) }

    public var isRunning: Bool { process.isRunning }
}

/// Splits bytes into lines of at most 64 KiB; called serially by one readability handler.
final class LineSplitter: @unchecked Sendable {
    private var pending = Data()
    private let emit: (String) -> Void
    private static let maxLine = 64 * 1024

    init(emit: @escaping (String) -> Void) { self.emit = emit }

    func feed(_ data: Data) {
        pending.append(data)
        while let nl = pending.firstIndex(of: 0x0A) {
            emit(String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
            pending.removeSubrange(pending.startIndex...nl)
        }
        if pending.count > Self.maxLine {
            emit(String(decoding: pending.prefix(Self.maxLine), as: UTF8.self) + " …(line truncated)")
            pending.removeAll()
        }
    }

    func finish() {
        if !pending.isEmpty { emit(String(decoding: pending, as: UTF8.self)) }
        pending.removeAll()
    }
}
