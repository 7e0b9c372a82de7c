/// A flow's id: `[A-Za-z0-9_-]{1,64}`.
public struct FlowID: Hashable, Codable, Sendable, CustomStringConvertible, Comparable {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
    public var description: String { rawValue }
    public static func < (a: FlowID, b: FlowID) -> Bool { a.rawValue < b.rawValue }
}

/// A module's id, unique within its flow: `[A-Za-z0-9_-]{1,64}`.
public struct ModuleID: Hashable, Codable, Sendable, CustomStringConvertible, Comparable {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
    public var description: String { rawValue }
    public static func < (a: ModuleID, b: ModuleID) -> Bool { a.rawValue < b.rawValue }
}

/// The name of an input or output port of a module.
public struct PortName: Hashable, Codable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
    public var description: String { rawValue }
}

/// `flowId/moduleId`: one module of one flow, as the API and `flowctl` name it.
public struct FlowModuleID: Hashable, Codable, Sendable, CustomStringConvertible {
    public let flow: FlowID
    public let module: ModuleID
    public init(flow: FlowID, module: ModuleID) { self.flow = flow; self.module = module }

    /// Parses `flow/module`; nil when the text has no single `/` or an empty side.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.flow = FlowID(String(parts[0]))
        self.module = ModuleID(String(parts[1]))
    }
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = FlowModuleID(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected \"flow/module\", got \"\(text)\""))
        }
        self = parsed
    }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(description) }
    public var description: String { "\(flow)/\(module)" }
}

/// Identifier syntax shared by flows and modules.
public enum Identifier {
    public static let maxLength = 64
    public static func isValid(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= maxLength else { return false }
        return text.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
        }
    }
}
