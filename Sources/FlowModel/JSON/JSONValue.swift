import Foundation

/// Any JSON value. Used for config, state and control frames; never for the
/// payloads on the host's data path, which stay opaque bytes.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public subscript(index: Int) -> JSONValue? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }

    /// The JSON type's name as a user reads it in an error message.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue: Codable {
    /// From `JSONValueDecoder`: the value as parsed, in one step. From any
    /// other decoder (our own files, written by us): by trying each type.
    public init(from decoder: any Decoder) throws {
        if let tree = decoder as? TreeDecoder { self = tree.value; return }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSONValue {
    /// Parses JSON text in one pass; throws a `JSONParseError` that says where
    /// and what, also for JSON nested deeper than `nesting` allows.
    public init(parsing data: some ContiguousBytes, nesting: JSONNesting = .standard) throws(JSONParseError) {
        self = try JSONParser.parse(data, nesting: nesting)
    }

    /// Compact JSON text with sorted keys.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("null".utf8), as: UTF8.self)
    }
}

extension JSONValue {
    /// Whether the value nests deeper than `limit` levels (a scalar is 0, `[1]` is 1); stops looking past it.
    public func nestsDeeper(than limit: Int) -> Bool {
        guard limit >= 0 else { return true }
        switch self {
        case .array(let a): return limit == 0 ? true : a.contains { $0.nestsDeeper(than: limit - 1) }
        case .object(let o): return limit == 0 ? true : o.values.contains { $0.nestsDeeper(than: limit - 1) }
        default: return false
        }
    }

    /// The value, or a string saying it was left out when it nests deeper than a user's value may
    /// inside what a runner tells the dispatcher (`JSONNesting.standard.valueDepth`, docs/security.md
    /// "Deep JSON"): a module's deep payload never costs its runner the connection.
    public var boundedForTheDispatcher: JSONValue {
        let limit = JSONNesting.standard.valueDepth
        return nestsDeeper(than: limit) ? .string("(a value nested deeper than \(limit) levels, not shown)") : self
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
