/// The content address of one dependency environment: the runtime and the
/// first 20 hex digits of the SHA-256 of its normalised dependency list,
/// e.g. `python3-3f2a9c0d41b7e85a6c21`. Equal sets have equal ids on every
/// runner; the id is also the environment's directory name.
public struct EnvironmentID: Hashable, Codable, Sendable, CustomStringConvertible, Comparable {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
    public var description: String { rawValue }
    public static func < (a: EnvironmentID, b: EnvironmentID) -> Bool { a.rawValue < b.rawValue }

    /// How many hex digits of the digest the id keeps (80 bits).
    public static let digestDigits = 20

    /// Parses an id as the API receives it; nil unless it is `<runtime>-<20 hex digits>`
    /// for a runtime that has environments (so it is also a safe directory name).
    public init?(parsing text: String) {
        guard let dash = text.lastIndex(of: "-"),
              let runtime = RuntimeKind(rawValue: String(text[..<dash])), runtime.hasEnvironments else { return nil }
        let digest = text[text.index(after: dash)...]
        guard digest.utf8.count == Self.digestDigits,
              digest.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        rawValue = text
    }

    /// The runtime the environment is for.
    public var runtime: RuntimeKind? {
        rawValue.lastIndex(of: "-").flatMap { RuntimeKind(rawValue: String(rawValue[..<$0])) }
    }
}

extension RuntimeKind {
    /// Whether modules of this runtime may list `dependencies` (a browser tab installs nothing).
    public var hasEnvironments: Bool { self != .browser }
}
