/// The language runtimes a module can run on: a closed set.
public enum RuntimeKind: String, Codable, Sendable, CaseIterable, Comparable {
    case python3
    case node
    case browser

    public static func < (a: RuntimeKind, b: RuntimeKind) -> Bool { a.rawValue < b.rawValue }
}
