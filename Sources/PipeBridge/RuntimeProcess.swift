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
/// The stdout/stderr read ends belong to dispatch sources that close them at
/// end of file; the write ends are closed right after the spawn. Whoever spawned the process calls `terminate()`/`kill()` and waits
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
        process.standardInput = FileHandle.nullDevice
        // Our own pipes (close-on-exec; the child's copies on 1 and 2 are not)
        // read by dispatch sources that close their fd when cancelled: with
        // Foundation's Pipe and readabilityHandler, read ends leak on Linux.
        var pipes: [(read: CInt, write: CInt)] = []
        for _ in 0..<2 {
            var fds: [CInt] = [0, 0]
            guard pipe(&fds) == 0 else {
                let code = errno
                for p in pipes { close(p.read); close(p.write) }
                throw PipeBridgeError.system("pipe2", code)
            }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            pipes.append((fds[0], fds[1]))
        }
        process.standardOutput = FileHandle(fileDescriptor: pipes[0].write, closeOnDealloc: false)
        process.standardError = FileHandle(fileDescriptor: pipes[1].write, closeOnDealloc: false)
        process.terminationHandler = { p in
            let exit: ProcessExit = p.terminationReason == .uncaughtSignal ? .signalled(p.terminationStatus) : .exited(p.terminationStatus)
            onExit(exit)
        }
        do {
            try process.run()
        } catch {
            for p in pipes { close(p.read); close(p.write) }
            throw PipeBridgeError.spawnFailed("could not start \(executable): \(error.localizedDescription)")
        }
        for p in pipes { close(p.write) }
        for (p, stream) in zip(pipes, [ProcessStream.stdout, .stderr]) {
            Self.readLines(from: p.read, stream: stream, onOutput: onOutput)
        }
        self.process = process
        self.pid = process.processIdentifier
    }

    /// Reads `fd` until end of file, line by line; closes it then.
    private static func readLines(from fd: CInt, stream: ProcessStream, onOutput: @escaping @Sendable (ProcessStream, String) -> Void) {
        let splitter = LineSplitter { onOutput(stream, $0) }
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: DispatchQueue(label: "polyflow.process.\(stream.rawValue)"))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // The handlers hold the source until it is cancelled (at end of file).
        source.setEventHandler {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                splitter.feed(Data(buffer[0..<n]))
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                source.cancel()
            }
        }
        source.setCancelHandler {
            splitter.finish()
            close(fd)
        }
        source.resume()
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
