import CSpawn
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn` (every descriptor but 0, 1, 2
/// closed in the child) and reaped through a pidfd: no signal handler, no
/// thread per child, no scan of the parent's descriptors.
///
/// Not Foundation's `Process`: its spawn lists `/proc/self/fd` and crashes
/// once the host holds ~1,370 descriptors (docs/performance.md).
public final class SpawnedChild: Sendable {
    public let pid: Int32

    /// Spawns `executable`; `onExit` is called once, when the child has been reaped.
    /// - Parameters:
    ///   - environment: the child's whole environment; nil: this process's.
    ///   - directory: the child's working directory; nil: this process's.
    ///   - stdin, stdout, stderr: descriptors the child gets as 0, 1, 2 (the caller keeps and closes its own).
    public init(executable: String, arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
                stdin: CInt, stdout: CInt, stderr: CInt,
                onExit: @escaping @Sendable (ProcessExit) -> Void) throws(PipeBridgeError) {
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc: CInt = if let directory {
            polyflow_spawn(executable, argv, envp, directory, stdin, stdout, stderr, &pid)
        } else {
            polyflow_spawn(executable, argv, envp, nil, stdin, stdout, stderr, &pid)
        }
        guard rc == 0 else {
            throw .spawnFailed("could not start \(executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        Self.reap(pid, onExit: onExit)
    }

    /// Sends `signal` to the child (harmless once it is gone: its pid is not reused before it is reaped).
    public func signal(_ signal: CInt) { _ = kill(pid, signal) }

    private static let reaper = DispatchQueue(label: "polyflow.reaper")

    /// Waits for the child's pidfd to become readable, then reaps it.
    private static func reap(_ pid: pid_t, onExit: @escaping @Sendable (ProcessExit) -> Void) {
        let pidfd = polyflow_pidfd_open(pid)
        guard pidfd >= 0 else {
            // No pidfd (a kernel before 5.3): a blocking wait on its own thread.
            Thread.detachNewThread { if let exit = wait(pid, options: 0) { onExit(exit) } }
            return
        }
        let source = DispatchSource.makeReadSource(fileDescriptor: pidfd, queue: reaper)
        // The handlers hold the source until it is cancelled (once the child is reaped).
        source.setEventHandler {
            guard let exit = wait(pid, options: WNOHANG) else { return }
            source.cancel()
            onExit(exit)
        }
        source.setCancelHandler { close(pidfd) }
        source.resume()
    }

    /// Reaps `pid`; nil while it still runs (WNOHANG).
    private static func wait(_ pid: pid_t, options: CInt) -> ProcessExit? {
        var status: CInt = 0
        var r: pid_t
        repeat { r = waitpid(pid, &status, options) } while r < 0 && errno == EINTR
        guard r == pid else { return r < 0 ? .exited(-1) : nil }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }
}
