/// A runner's id: its name, unique among the runners joined to one
/// dispatcher (`[A-Za-z0-9_-]{1,64}`, like flow ids; see
/// docs/runner-protocol.md for what happens to a second runner of the same
/// name). The embedded runner of `flowctl serve` is `local`.
public struct RunnerID: Hashable, Codable, Sendable, CustomStringConvertible, Comparable {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
    public var description: String { rawValue }
    public static func < (a: RunnerID, b: RunnerID) -> Bool { a.rawValue < b.rawValue }

    /// The embedded runner of `flowctl serve`.
    public static let local = RunnerID("local")

    /// The dispatcher itself, as the sender of injected messages (no runner may take this name).
    public static let dispatcher = RunnerID("dispatcher")
}
