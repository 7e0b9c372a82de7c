import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A directory only this user may enter: created 0700 when missing; when it
/// exists and is ours, tightened to 0700; when it belongs to someone else,
/// or (with `allowSymlink: false`, for shared places like /tmp) is a
/// symbolic link, refused: another user could read or swap what we put there.
public enum PrivateDirectory {
    public struct Refused: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public static func prepare(_ path: String, createParents: Bool = false, allowSymlink: Bool = true) throws(Refused) {
        if createParents {
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) {
                do {
                    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                } catch {
                    throw Refused(path: parent, reason: "cannot create it (\(error.localizedDescription)); choose another directory")
                }
            }
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw Refused(path: path, reason: "cannot create it: \(String(cString: strerror(errno))); choose another directory")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw Refused(path: path, reason: "cannot read it: \(String(cString: strerror(errno)))")
        }
        if (info.st_mode & S_IFMT) == S_IFLNK {
            guard allowSymlink else {
                throw Refused(path: path, reason: "is a symbolic link in a shared place (someone may have planted it): remove it, or set XDG_RUNTIME_DIR")
            }
            guard stat(path, &info) == 0 else { throw Refused(path: path, reason: "is a broken symbolic link: remove it") }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw Refused(path: path, reason: "is not a directory: remove it or choose another directory")
        }
        guard info.st_uid == getuid() else {
            throw Refused(path: path, reason: "belongs to uid \(info.st_uid), not to you (uid \(getuid())): another user could read or replace what Polyflow keeps there; remove it or choose another directory")
        }
        if info.st_mode & 0o077 != 0, chmod(path, 0o700) != 0 {
            throw Refused(path: path, reason: "is open to other users (mode \(String(info.st_mode & 0o777, radix: 8))) and cannot be made private: \(String(cString: strerror(errno)))")
        }
    }
}

extension PrivateDirectory {
    /// Where Polyflow keeps its state by default: `$XDG_STATE_HOME/polyflow`, or `~/.local/state/polyflow`.
    public static func defaultStateDirectory() -> String {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_STATE_HOME"], !xdg.isEmpty { return xdg + "/polyflow" }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.local/state/polyflow"
    }
}
