import CSpawn
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn` (every descriptor but 0, 1, 2
/// closed in the child) and reaped through a pidfd by `ProcessMonitor`: no
/// signal handler, no thread per child, no scan of the parent's descriptors.
///
/// The child leads its own process group: `signal` reaches everything it
/// forked too, and when it exits, `ProcessMonitor` kills what is left of
/// the group (SIGKILL) before it reaps the child, so no grandchild outlives
/// it. (A grandchild that leaves the group with `setsid` escapes; see
/// docs/security.md.)
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
        ProcessMonitor.shared.reap(pid, onExit: onExit)
    }

    /// Sends `signal` to the child and its process group. Its pid cannot be
    /// reused before it is reaped; after `onExit`, do not signal it.
    public func signal(_ signal: CInt) {
        if kill(-pid, signal) != 0 { _ = kill(pid, signal) }
    }
}
