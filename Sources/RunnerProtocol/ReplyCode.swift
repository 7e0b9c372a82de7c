/// What a `failure` reply says went wrong, as a stable code: the runner's own
/// (`RunnerError`, the environments'), what the dispatcher's side of a link
/// says when the runner cannot answer (`runnerLost`, `runnerTimeout`), and,
/// for a runner of another version, any other code as it came (`other`).
/// On the wire and in API errors it is the kebab-case string (`rawValue`).
public enum ReplyCode: Hashable, Sendable, CustomStringConvertible {
    // A command the runner carried out and refused (`RunnerError`).
    case unknownFlow, unknownModule, unknownPort, runtimeUnavailable, loadError, runtimeFailed, flowNotRunning
    case saturated, payloadTooLarge, stepTimedOut, swapTimedOut, badCondition, stopped
    // Dependency environments (`EnvironmentError`, `EnvironmentDeployError`).
    case installFailed, installTimedOut, installerMissing, environmentInUse, unknownEnvironment, environmentFilesystem
    case dependenciesFailed
    // The runner does not know the command (an older or other runner).
    case unknownCommand, unknownType
    // Said by the dispatcher's side of the link, not by the runner.
    case runnerLost, runnerTimeout, notARunner, noLocalRunner, unplaced
    /// An error the runner did not expect (a bug): the message says what.
    case internalError
    case other(String)

    private static let known: [(ReplyCode, String)] = [
        (.unknownFlow, "unknown-flow"), (.unknownModule, "unknown-module"), (.unknownPort, "unknown-port"),
        (.runtimeUnavailable, "runtime-unavailable"), (.loadError, "load-error"), (.runtimeFailed, "runtime-failed"),
        (.flowNotRunning, "flow-not-running"), (.saturated, "saturated"), (.payloadTooLarge, "payload-too-large"),
        (.stepTimedOut, "step-timed-out"), (.swapTimedOut, "swap-timed-out"), (.badCondition, "bad-condition"),
        (.stopped, "stopped"), (.installFailed, "install-failed"), (.installTimedOut, "install-timed-out"),
        (.installerMissing, "installer-missing"), (.environmentInUse, "environment-in-use"),
        (.unknownEnvironment, "unknown-environment"), (.environmentFilesystem, "environment-filesystem"),
        (.dependenciesFailed, "dependencies-failed"), (.unknownCommand, "unknown-command"), (.unknownType, "unknown-type"),
        (.runnerLost, "runner-lost"), (.runnerTimeout, "runner-timeout"), (.notARunner, "not-a-runner"),
        (.noLocalRunner, "no-local-runner"), (.unplaced, "unplaced"), (.internalError, "internal"),
    ]
    private static let byString = Dictionary(uniqueKeysWithValues: known.map { ($0.1, $0.0) })

    public init(rawValue: String) { self = Self.byString[rawValue] ?? .other(rawValue) }

    public var rawValue: String {
        if case .other(let code) = self { return code }
        return Self.known.first { $0.0 == self }!.1
    }

    public var description: String { rawValue }

    /// The runner could not be reached, or did not answer in time: the command may not have run there.
    public var isUnreachable: Bool { self == .runnerLost || self == .runnerTimeout }

    /// The runner does not know the command (a runner of another version).
    public var isUnknownCommand: Bool { self == .unknownCommand || self == .unknownType }
}

extension ReplyCode: Codable {
    public init(from decoder: any Decoder) throws { self.init(rawValue: try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
