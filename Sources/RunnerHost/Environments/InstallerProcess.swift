import Foundation
import PipeBridge
#if canImport(Glibc)
import Glibc
import RunnerProtocol
#endif

/// Runs one installer command (venv, pip, uv, npm) to its end: every output
/// line goes to `onLine` as it comes, the last `keepLines` are kept for the
/// error message, and the process (with its whole process group) is killed
/// past `timeLimit`.
///
/// Ownership: `SpawnedChild` reaps the child; the read ends of its stdout and
/// stderr belong to `ProcessMonitor`, which closes them at end of file; the
/// write ends and stdin's /dev/null are closed here right after the spawn.
/// `run` returns only when the child is reaped and both streams have ended.
struct InstallerProcess: Sendable {
    var executable: String
    var arguments: [String]
    var environment: [String: String]? = nil
    var directory: String? = nil
    var timeLimit: Duration
    var keepLines = 40

    struct Outcome: Sendable {
        var exit: ProcessExit
        var timedOut: Bool
        /// The last `keepLines` lines of stdout and stderr, in order.
        var tail: [String]
        var succeeded: Bool { exit == .exited(0) && !timedOut }
    }

    private enum Event: Sendable { case line(String), end, exit(ProcessExit) }

    func run(onLine: @escaping @Sendable (String) -> Void) async throws -> Outcome {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self)
        let pipes = try OutputPipes()
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else { pipes.closeAll(); throw PipeBridgeError.system("open /dev/null", errno) }
        let child: SpawnedChild
        do {
            child = try SpawnedChild(executable: executable, arguments: arguments, environment: environment, directory: directory,
                                     stdin: devNull, stdout: pipes.stdout.write, stderr: pipes.stderr.write) { exit in
                continuation.yield(.exit(exit))
            }
        } catch {
            close(devNull)
            pipes.closeAll()
            throw error
        }
        close(devNull)
        pipes.closeWriteEnds()
        for fd in [pipes.stdout.read, pipes.stderr.read] {
            ProcessMonitor.shared.readLines(fd, onLine: { continuation.yield(.line($0)) }, onEnd: { continuation.yield(.end) })
        }
        let killer = Task {
            try await Task.sleep(for: timeLimit)
            child.signal(SIGKILL)
        }
        var tail: [String] = []
        var ends = 0
        var exit: ProcessExit?
        for await event in stream {
            switch event {
            case .line(let text):
                tail.append(text)
                if tail.count > keepLines { tail.removeFirst(tail.count - keepLines) }
                onLine(text)
            case .end: ends += 1
            case .exit(let e): exit = e
            }
            if ends == 2, exit != nil { break }
        }
        continuation.finish()
        killer.cancel()
        let timedOut = await killer.result.isSuccess
        return Outcome(exit: exit ?? .exited(-1), timedOut: timedOut, tail: tail)
    }
}

private extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
