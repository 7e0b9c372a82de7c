#if canImport(Glibc)
import Glibc
#endif

/// Failures of the pipe layer, each naming what was tried.
public enum PipeBridgeError: Error, Sendable, CustomStringConvertible {
    case system(String, Int32)
    case runtimeNotFound(String)
    case spawnFailed(String)

    public var description: String {
        switch self {
        case .system(let what, let code): "\(what) failed: \(String(cString: strerror(code)))"
        case .runtimeNotFound(let what): what
        case .spawnFailed(let what): what
        }
    }
}
