import CSpawn
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
/// Ownership: `SpawnedChild` reaps the child and calls `onExit` once. The
/// stdout/stderr read ends belong to `ProcessMonitor`, which closes them at
/// end of file; the write ends and stdin's /dev/null are closed right after the
/// spawn. Whoever spawned the process calls `terminate()`/`kill()` and waits
/// for `onExit` before it removes the instance's fifos.
public final class RuntimeProcess: Sendable {
    private let child: SpawnedChild
    public var pid: Int32 { child.pid }

    /// Spawns `executable` with `arguments`; stdin is /dev/null.
    /// - Parameter environment: the child's whole environment; nil: this process's.
    public init(
        executable: String,
        arguments: [String],
        environment: [String: String]? = nil,
        directory: String? = nil,
        onOutput: @escaping @Sendable (ProcessStream, String) -> Void,
        onExit: @escaping @Sendable (ProcessExit) -> Void
    ) throws {
        let pipes = try OutputPipes()
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else {
            let code = errno
            pipes.closeAll()
            throw PipeBridgeError.system("open /dev/null", code)
        }
        defer { close(devNull) }
        do {
            child = try SpawnedChild(executable: executable, arguments: arguments, environment: environment, directory: directory,
                                     stdin: devNull, stdout: pipes.stdout.write, stderr: pipes.stderr.write, onExit: onExit)
        } catch {
            pipes.closeAll()
            throw error
        }
        pipes.closeWriteEnds()
        ProcessMonitor.shared.readLines(pipes.stdout.read) { onOutput(.stdout, $0) }
        ProcessMonitor.shared.readLines(pipes.stderr.read) { onOutput(.stderr, $0) }
    }

    /// Asks the process to stop (SIGTERM).
    public func terminate() { child.signal(SIGTERM) }

    /// Kills the process at once (SIGKILL).
    public func kill() { child.signal(SIGKILL) }

    /// Freezes the process where it is (SIGSTOP), or lets it go on (SIGCONT).
    public func freeze(_ frozen: Bool) { child.signal(frozen ? SIGSTOP : SIGCONT) }
}

/// A child's stdout and stderr pipes, close-on-exec (the child gets its copies by dup2).
public struct OutputPipes: Sendable {
    public let stdout: (read: CInt, write: CInt)
    public let stderr: (read: CInt, write: CInt)

    public init() throws(PipeBridgeError) {
        var out: [CInt] = [0, 0], err: [CInt] = [0, 0]
        guard polyflow_pipe_cloexec(&out) == 0 else { throw .system("pipe2", errno) }
        guard polyflow_pipe_cloexec(&err) == 0 else {
            let code = errno
            close(out[0]); close(out[1])
            throw .system("pipe2", code)
        }
        stdout = (out[0], out[1])
        stderr = (err[0], err[1])
    }

    public func closeWriteEnds() { close(stdout.write); close(stderr.write) }
    public func closeAll() { closeWriteEnds(); close(stdout.read); close(stderr.read) }
}
