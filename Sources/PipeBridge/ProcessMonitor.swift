import CSpawn
import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// One thread with its own epoll set that reads every child's stdout and
/// stderr and reaps every child through its pidfd.
///
/// Not libdispatch sources: their epoll bookkeeping on Linux breaks when
/// sources for many descriptors come and go from several threads at once
/// (swift-corelibs-libdispatch issues 833 and 949); a reader then never sees
/// end of file, or a child's exit is never reported. Here one thread owns
/// the set: a descriptor is removed from it, then closed, on that thread.
///
/// Callbacks run on the monitor thread, one at a time: keep them short.
///
/// `watches` and `nextToken` are behind `lock`; `buffer` and the line splitters are the monitor
/// thread's alone (asserted in `handle`, in debug builds).
public final class ProcessMonitor: @unchecked Sendable {
    public static let shared = ProcessMonitor()
    /// The monitor thread (set when it starts; for the debug-build assertion).
    private var owner: pthread_t?

    private enum Watch {
        case lines(fd: CInt, splitter: LineSplitter, onEnd: @Sendable () -> Void)
        case exit(pidfd: CInt, pid: pid_t, onExit: @Sendable (ProcessExit) -> Void)
    }

    private let epfd: CInt
    private let lock = NIOLock()
    private var watches: [UInt64: Watch] = [:]
    private var nextToken: UInt64 = 1
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    private init() {
        epfd = polyflow_epoll_create()
        precondition(epfd >= 0, "epoll_create1 failed: \(String(cString: strerror(errno)))")
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "polyflow.process-monitor"
        thread.start()
    }

    /// Reads `fd` (a pipe's read end, now owned here) line by line until end
    /// of file, calling `onLine` per line (lines longer than `maxLine` are
    /// cut) and `onEnd` once at the end; closes `fd` then.
    public func readLines(_ fd: CInt, maxLine: Int = 64 * 1024, onLine: @escaping @Sendable (String) -> Void,
                          onEnd: @escaping @Sendable () -> Void = {}) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        add(fd, .lines(fd: fd, splitter: LineSplitter(maxLine: maxLine, emit: onLine), onEnd: onEnd))
    }

    /// Reaps `pid` when it exits and calls `onExit` once.
    func reap(_ pid: pid_t, onExit: @escaping @Sendable (ProcessExit) -> Void) {
        let pidfd = polyflow_pidfd_open(pid)
        guard pidfd >= 0 else {
            // No pidfd (a kernel before 5.3): a blocking wait on its own thread.
            Thread.detachNewThread { if let exit = Self.wait(pid, options: 0) { onExit(exit) } }
            return
        }
        add(pidfd, .exit(pidfd: pidfd, pid: pid, onExit: onExit))
    }

    private func add(_ fd: CInt, _ watch: Watch) {
        let token = lock.withLock {
            let token = nextToken
            nextToken += 1
            watches[token] = watch
            return token
        }
        if polyflow_epoll_add(epfd, fd, token) != 0 {
            // Cannot happen for a fresh pipe or pidfd; end the watch at once rather than hang a waiter.
            lock.withLock { _ = watches.removeValue(forKey: token) }
            finish(watch, exit: nil)
        }
    }

    private func run() {
        lock.withLock { owner = pthread_self() }
        var tokens = [UInt64](repeating: 0, count: 64)
        while true {
            let n = tokens.withUnsafeMutableBufferPointer { polyflow_epoll_wait(epfd, $0.baseAddress, 64) }
            if n < 0 { continue }  // EINTR
            for i in 0..<Int(n) {
                let token = tokens[i]
                guard let watch = lock.withLock({ watches[token] }) else { continue }
                if case .ended(let exit) = handle(watch) {
                    lock.withLock { _ = watches.removeValue(forKey: token) }
                    finish(watch, exit: exit)
                }
            }
        }
    }

    private enum Outcome {
        case more
        /// The watch is over: end of file, or the child reaped (with its exit).
        case ended(ProcessExit?)
    }

    /// Handles a ready descriptor.
    private func handle(_ watch: Watch) -> Outcome {
        assert(lock.withLock { owner.map { pthread_equal($0, pthread_self()) != 0 } ?? false },
               "ProcessMonitor.handle runs on the monitor thread only")
        switch watch {
        case .lines(let fd, let splitter, _):
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                splitter.feed(Data(buffer[0..<n]))
                return .more
            }
            return n == 0 || (errno != EAGAIN && errno != EINTR) ? .ended(nil) : .more
        case .exit(_, let pid, _):
            // The pidfd is readable: the child has exited and is a zombie
            // until reaped, so its pid (its group's id) is not reused yet.
            // End whatever it forked before reaping it.
            _ = kill(-pid, SIGKILL)
            return Self.wait(pid, options: WNOHANG).map { .ended($0) } ?? .more
        }
    }

    private func finish(_ watch: Watch, exit: ProcessExit?) {
        switch watch {
        case .lines(let fd, let splitter, let onEnd):
            _ = polyflow_epoll_remove(epfd, fd)
            close(fd)
            splitter.finish()
            onEnd()
        case .exit(let pidfd, _, let onExit):
            _ = polyflow_epoll_remove(epfd, pidfd)
            close(pidfd)
            onExit(exit ?? .exited(-1))
        }
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
