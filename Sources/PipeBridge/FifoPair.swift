import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private directory (0700) with the two fifos of one runtime instance (0600).
///
/// Ownership: `create` opens both fifos read-write (so neither open blocks and
/// the runtime's own opens succeed at once) and returns their descriptors with
/// `O_CLOEXEC`. The caller owns the descriptors: it hands them to
/// `NIOPipeBootstrap`, which closes them with the channel; if bootstrapping
/// fails the caller closes them. `remove()` deletes the fifos and the
/// directory; the supervisor calls it when the instance is stopped or
/// restarted, on success and on failure. The directory also holds `owner`,
/// the server's pid, so that a later server can remove what a crashed one
/// left (`sweep`).
public struct FifoPair: Sendable {
    public let directory: String
    /// The fifo the host writes and the runtime reads.
    public let toRuntimePath: String
    /// The fifo the runtime writes and the host reads.
    public let fromRuntimePath: String

    public struct Descriptors: Sendable {
        public let toRuntime: CInt
        public let fromRuntime: CInt
    }

    /// Creates the directory under `baseDirectory` (created 0700 if missing) and both fifos.
    public static func create(in baseDirectory: String, name: String) throws -> FifoPair {
        do { try PrivateDirectory.prepare(baseDirectory, allowSymlink: false) } catch {
            throw PipeBridgeError.spawnFailed("fifo directory \(error)")
        }
        var template = Array("\(baseDirectory)/\(name)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw PipeBridgeError.system("mkdtemp in \(baseDirectory)", errno)
        }
        let dir = String(cString: made)
        let pair = FifoPair(directory: dir, toRuntimePath: dir + "/to-runtime", fromRuntimePath: dir + "/from-runtime")
        for path in [pair.toRuntimePath, pair.fromRuntimePath] where mkfifo(path, 0o600) != 0 {
            let code = errno
            pair.remove()
            throw PipeBridgeError.system("mkfifo \(path)", code)
        }
        guard FileManager.default.createFile(atPath: pair.ownerPath, contents: Data("\(getpid())\n".utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            pair.remove()
            throw PipeBridgeError.system("write \(pair.ownerPath)", EIO)
        }
        return pair
    }

    var ownerPath: String { directory + "/owner" }

    /// Removes the fifo directories under `baseDirectory` whose owner process
    /// is gone (a server that crashed or was killed); returns their paths.
    /// Directories of live servers, and anything without an `owner` file, stay.
    public static func sweep(in baseDirectory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: baseDirectory) else { return [] }
        var removed: [String] = []
        for name in names.sorted() {
            let dir = baseDirectory + "/" + name
            guard let text = try? String(contentsOfFile: dir + "/owner", encoding: .utf8),
                  let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
                  pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let pair = FifoPair(directory: dir, toRuntimePath: dir + "/to-runtime", fromRuntimePath: dir + "/from-runtime")
            pair.remove()
            if access(dir, F_OK) != 0 { removed.append(dir) }
        }
        return removed
    }

    /// Opens both fifos read-write, non-blocking, close-on-exec.
    public func open() throws -> Descriptors {
        let flags = O_RDWR | O_NONBLOCK | O_CLOEXEC
        let to = Glibc.open(toRuntimePath, flags)
        guard to >= 0 else { throw PipeBridgeError.system("open \(toRuntimePath)", errno) }
        let from = Glibc.open(fromRuntimePath, flags)
        guard from >= 0 else {
            let code = errno
            close(to)
            throw PipeBridgeError.system("open \(fromRuntimePath)", code)
        }
        return Descriptors(toRuntime: to, fromRuntime: from)
    }

    /// Removes both fifos and the directory; safe to call twice.
    public func remove() {
        unlink(toRuntimePath)
        unlink(fromRuntimePath)
        unlink(ownerPath)
        rmdir(directory)
    }
}
