import Foundation
import NIOConcurrencyHelpers
import PipeBridge

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// A real child process whose stdout and stderr lines the test can wait for.
final class ChildProcess: Sendable {
    private struct Output {
        var stdout: [String] = []
        var stderr: [String] = []
        var exit: Int32?
        var terminated: Int32?
        var eof = 0
        var waiters: [(id: UUID, check: @Sendable (Output) -> Bool, continuation: CheckedContinuation<Void, any Error>)] = []
    }
    private let output = NIOLockedValueBox(Output())
    private let child: SpawnedChild

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil) throws {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        commandLine = ([(executable as NSString).lastPathComponent] + arguments).joined(separator: " ")
        let pipes = try OutputPipes()
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(devNull) }
        let output = self.output
        // The exit is reported once both pipes are drained too.
        let update: @Sendable (@Sendable (inout Output) -> Void) -> Void = { change in Self.update(output, change) }
        do {
            child = try SpawnedChild(executable: executable, arguments: arguments, environment: env, directory: directory,
                                     stdin: devNull, stdout: pipes.stdout.write, stderr: pipes.stderr.write) { exit in
                let status: Int32 = switch exit { case .exited(let code): code; case .signalled(let sig): 128 + sig }
                update { o in
                    o.terminated = status
                    if o.eof == 2 { o.exit = status }
                }
            }
        } catch {
            pipes.closeAll()
            throw error
        }
        pipes.closeWriteEnds()
        for (fd, isOut) in [(pipes.stdout.read, true), (pipes.stderr.read, false)] {
            ProcessMonitor.shared.readLines(fd, maxLine: 64 << 20, onLine: { line in
                update { o in if isOut { o.stdout.append(line) } else { o.stderr.append(line) } }
            }, onEnd: {
                update { o in
                    o.eof += 1
                    if o.eof == 2, let t = o.terminated { o.exit = t }
                }
            })
        }
    }

    var pid: Int32 { child.pid }
    private let commandLine: String

    /// What a timeout message needs: the command, whether it exited, whether its pipes closed, what it waits on.
    var diagnosis: String {
        let (terminated, eof) = output.withLockedValue { ($0.terminated, $0.eof) }
        let proc = "/proc/\(pid)"
        let stat = (try? String(contentsOfFile: "\(proc)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first.map(String.init) ?? "gone"
        let wchan = (try? String(contentsOfFile: "\(proc)/wchan", encoding: .utf8)) ?? "-"
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "\(proc)/task"))?.count ?? 0
        return "`\(commandLine)` pid \(pid): terminated \(terminated.map(String.init) ?? "no"), pipes closed \(eof)/2, state \(stat), wchan \(wchan), threads \(threads)"
    }
    var stdout: [String] { output.withLockedValue { $0.stdout } }
    var stderr: [String] { output.withLockedValue { $0.stderr } }
    var exitStatus: Int32? { output.withLockedValue { $0.exit } }

    private static func update(_ output: NIOLockedValueBox<Output>, _ change: (inout Output) -> Void) {
        let ready = output.withLockedValue { o -> [CheckedContinuation<Void, any Error>] in
            change(&o)
            let snapshot = o
            let done = o.waiters.filter { $0.check(snapshot) }
            o.waiters.removeAll { w in done.contains { $0.id == w.id } }
            return done.map(\.continuation)
        }
        for c in ready { c.resume() }
    }

    private func wait(_ what: String, timeout: Duration, _ check: @escaping @Sendable (Output) -> Bool) async throws {
        let id = UUID()
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            let w = self?.output.withLockedValue { o in
                o.waiters.firstIndex { $0.id == id }.map { o.waiters.remove(at: $0) }
            }
            let stderr = self?.stderr.suffix(5).joined(separator: " | ") ?? ""
            let state = self?.diagnosis ?? ""
            w?.continuation.resume(throwing: TimedOut(description: "timed out waiting for \(what); \(state); stderr: \(stderr)"))
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let now = output.withLockedValue { o in
                if check(o) { return true }
                o.waiters.append((id, check, c))
                return false
            }
            if now { c.resume() }
        }
    }

    /// Waits for a stdout line that satisfies `match` and returns it.
    @discardableResult
    func waitForStdout(_ what: String, timeout: Duration = .seconds(30), where match: @escaping @Sendable (String) -> Bool) async throws -> String {
        try await wait(what, timeout: timeout) { $0.stdout.contains(where: match) }
        return stdout.first(where: match)!
    }

    func waitForStdoutCount(_ n: Int, timeout: Duration = .seconds(30)) async throws {
        try await wait("\(n) stdout lines", timeout: timeout) { $0.stdout.count >= n }
    }

    func waitForStderr(_ what: String, timeout: Duration = .seconds(30), where match: @escaping @Sendable (String) -> Bool) async throws {
        try await wait(what, timeout: timeout) { $0.stderr.contains(where: match) }
    }

    /// Waits for the process to exit and returns its status.
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        try await wait("exit", timeout: timeout) { $0.exit != nil }
        return exitStatus!
    }

    func signal(_ sig: Int32) { child.signal(sig) }

    /// Kills the process if it still runs and waits for it.
    func terminate() async {
        if exitStatus == nil { child.signal(SIGKILL) }
        _ = try? await waitForExit(timeout: .seconds(10))
    }
}
