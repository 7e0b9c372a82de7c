import Foundation

/// A condition on the payload of the message arriving at a breakpoint's
/// module: the flow pauses only when it holds.
///
///     {"pointer": "/order/total", "equals": 0}
///     {"pointer": "/error", "exists": true}
///
/// `pointer` is a JSON Pointer (RFC 6901) into the payload; `""` is the whole
/// payload. Exactly one of `equals` (deep equality with a JSON value) and
/// `exists` (whether the pointer resolves) is given.
public struct BreakCondition: Sendable, Equatable, Codable {
    public enum Test: Sendable, Equatable {
        case equals(JSONValue)
        case exists(Bool)
    }

    public let pointer: String
    public let test: Test

    public init(pointer: String, test: Test) throws(BreakConditionError) {
        guard pointer.isEmpty || pointer.hasPrefix("/") else {
            throw BreakConditionError(path: "condition.pointer", reason: "\"\(pointer)\" is not a JSON Pointer: start it with \"/\" (e.g. \"/user/id\"), or use \"\" for the whole payload")
        }
        self.pointer = pointer
        self.test = test
    }

    /// Reads a condition from its JSON form; the error names the field and the fix.
    public init(json: JSONValue) throws(BreakConditionError) {
        guard case .object(let o) = json else {
            throw BreakConditionError(path: "condition", reason: "must be an object like {\"pointer\": \"/field\", \"equals\": 42}, got \(json.typeName)")
        }
        let known = ["pointer", "equals", "exists"]
        for key in o.keys.sorted() where !known.contains(key) {
            throw BreakConditionError(path: "condition.\(key)", reason: "unknown field\(DidYouMean.hint(for: key, among: known)); a condition has \"pointer\" and one of \"equals\" or \"exists\"")
        }
        guard let p = o["pointer"] else {
            throw BreakConditionError(path: "condition.pointer", reason: "missing: say where in the payload to look, e.g. \"/user/id\" (\"\" is the whole payload)")
        }
        guard case .string(let pointer) = p else {
            throw BreakConditionError(path: "condition.pointer", reason: "must be a string, got \(p.typeName)")
        }
        switch (o["equals"], o["exists"]) {
        case (let value?, nil):
            try self.init(pointer: pointer, test: .equals(value))
        case (nil, .bool(let flag)?):
            try self.init(pointer: pointer, test: .exists(flag))
        case (nil, let other?):
            throw BreakConditionError(path: "condition.exists", reason: "must be true or false, got \(other.typeName)")
        case (.some, .some):
            throw BreakConditionError(path: "condition", reason: "has both \"equals\" and \"exists\": keep one")
        case (nil, nil):
            throw BreakConditionError(path: "condition", reason: "needs \"equals\": VALUE or \"exists\": true/false")
        }
    }

    public var json: JSONValue {
        switch test {
        case .equals(let v): ["pointer": .string(pointer), "equals": v]
        case .exists(let b): ["pointer": .string(pointer), "exists": .bool(b)]
        }
    }

    public init(from decoder: any Decoder) throws {
        let json = try JSONValue(from: decoder)
        do { try self.init(json: json) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }

    /// Whether the payload matches.
    public func matches(_ payload: JSONValue) -> Bool {
        let found = Self.resolve(pointer, in: payload)
        switch test {
        case .equals(let value): return found.map { Self.equal($0, value) } ?? false
        case .exists(let flag): return (found != nil) == flag
        }
    }

    /// Numbers compare by value (`1` equals `1.0`).
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy(equal)
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { k, v in y[k].map { equal(v, $0) } ?? false }
        default: return a == b
        }
    }

    static func resolve(_ pointer: String, in value: JSONValue) -> JSONValue? {
        if pointer.isEmpty { return value }
        var current = value
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let token = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch current {
            case .object(let o):
                guard let next = o[token] else { return nil }
                current = next
            case .array(let a):
                guard let i = Int(token), token == String(i), a.indices.contains(i) else { return nil }
                current = a[i]
            default:
                return nil
            }
        }
        return current
    }
}

/// A malformed breakpoint condition: the field and the fix.
public struct BreakConditionError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
