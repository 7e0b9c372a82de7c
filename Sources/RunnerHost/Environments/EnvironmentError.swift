import FlowModel
import RunnerProtocol

/// Why an environment could not be built, listed or removed: a stable code and a sentence to act on.
public enum EnvironmentError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The installer failed; `tail` is its last lines.
    case installFailed(EnvironmentID, installer: String, status: String, tail: [String])
    case timedOut(EnvironmentID, installer: String, seconds: Int, tail: [String])
    case toolMissing(RuntimeKind, String)
    case inUse(EnvironmentID, by: [FlowModuleID])
    case unknown(EnvironmentID)
    case filesystem(String)

    public var code: ReplyCode {
        switch self {
        case .installFailed: .installFailed
        case .timedOut: .installTimedOut
        case .toolMissing: .installerMissing
        case .inUse: .environmentInUse
        case .unknown: .unknownEnvironment
        case .filesystem: .environmentFilesystem
        }
    }

    public var description: String {
        switch self {
        case .installFailed(let id, let installer, let status, let tail):
            "\(installer) \(status) building environment \(id)\(Self.quote(tail))"
        case .timedOut(let id, let installer, let seconds, let tail):
            "\(installer) did not finish building environment \(id) within \(seconds) s and was killed\(Self.quote(tail))"
        case .toolMissing(let runtime, let what):
            "cannot build \(runtime.rawValue) environments on this runner: \(what)"
        case .inUse(let id, let users):
            "environment \(id) is used by \(users.map(\.description).joined(separator: ", ")): remove or change those modules first"
        case .unknown(let id):
            "no environment \(id) on this runner: see `flowctl listDependencies`"
        case .filesystem(let what):
            "environment store: \(what)"
        }
    }

    /// The installer's last lines, on one line (the error is one line).
    static func quote(_ tail: [String]) -> String {
        let lines = tail.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.suffix(5)
        return lines.isEmpty ? "" : ": " + lines.joined(separator: " | ")
    }
}

import Foundation
