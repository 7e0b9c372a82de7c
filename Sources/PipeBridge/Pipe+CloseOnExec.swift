import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Pipe {
    /// Marks both ends close-on-exec. Foundation's pipes are inheritable, so
    /// without this every later child (another runtime) would hold this
    /// child's stdout open, and its reader would never see end-of-file. The
    /// child's own copies (dup2'd onto 0, 1, 2 at spawn) are not affected.
    public func closeOnExec() -> Pipe {
        for fd in [fileHandleForReading.fileDescriptor, fileHandleForWriting.fileDescriptor] {
            _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
        }
        return self
    }
}
