import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How deep JSON from a client may nest (docs/security.md, "Deep JSON").
///
/// Envelopes (a JSON-RPC request, a runner protocol message, a flow
/// document's own structure) nest at most `envelopeDepth` levels. A user's
/// value inside one (`ctx.state`, `config`, a payload, a step result: the
/// value of a key in `valueKeys`) gets its own budget of `valueDepth` levels
/// from where it starts: user values are bounded by size, and this bound only
/// keeps a recursive walk of them (hashing, encoding, freeing) off the end
/// of the stack. Parsing is one pass either way, so its time grows with the
/// size of the text, never with its depth.
public struct JSONNesting: Sendable, Equatable {
    public var envelopeDepth: Int
    public var valueDepth: Int
    public var valueKeys: Set<String>

    public init(envelopeDepth: Int = 64, valueDepth: Int = 512, valueKeys: Set<String> = JSONNesting.userValueKeys) {
        self.envelopeDepth = envelopeDepth; self.valueDepth = valueDepth; self.valueKeys = valueKeys
    }

    /// The keys whose values are a user's, not the envelope's.
    public static let userValueKeys: Set<String> = ["state", "moduleState", "config", "payload", "queuedPayloads", "result", "equals", "body"]

    /// The bound for any JSON from a client: the API, the runner protocol, `flowctl validate`.
    public static let standard = JSONNesting()

    /// The bound for a user's value on its own (a payload a runner parses to show it): the
    /// budget it has inside an envelope, so that what parses here also parses there.
    public static let userValue = JSONNesting(envelopeDepth: 512)
}

/// Why a text is not JSON we accept: where, and what to do.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable { case syntax, tooDeep }
    public var kind: Kind
    /// Byte offset in the text.
    public var offset: Int
    public var message: String
    public var description: String { "\(message) (at byte \(offset))" }
}

/// A one-pass JSON parser (RFC 8259) into `JSONValue`, with the nesting bound
/// of `JSONNesting`. Numbers without a fraction or exponent that fit an
/// `Int` are `.int`, others `.double`; duplicate keys keep the last value.
struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    private let nesting: JSONNesting

    static func parse(_ data: some ContiguousBytes, nesting: JSONNesting) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = data.withUnsafeBytes { raw in
            var p = JSONParser(bytes: raw.bindMemory(to: UInt8.self), nesting: nesting)
            do { return .success(try p.document()) } catch let e as JSONParseError { return .failure(e) }
            catch { return .failure(JSONParseError(kind: .syntax, offset: 0, message: "\(error)")) }
        }
        return try result.get()
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, nesting: JSONNesting) {
        self.bytes = bytes; self.nesting = nesting
    }

    private mutating func document() throws(JSONParseError) -> JSONValue {
        // A UTF-8 byte order mark is tolerated, as Foundation does.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        skipSpace()
        guard i < bytes.count else { throw fail("the text is empty: send a JSON value") }
        let v = try value(envelope: 0, user: nil)
        skipSpace()
        guard i == bytes.count else { throw fail("unexpected \(what()) after the JSON value") }
        return v
    }

    /// `envelope`: levels of envelope around this value; `user`: levels of user value around it, once inside one.
    private mutating func value(envelope: Int, user: Int?) throws(JSONParseError) -> JSONValue {
        guard i < bytes.count else { throw fail("the text ends where a value should be") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            try enter(envelope: envelope, user: user)
            i += 1
            var object: [String: JSONValue] = [:]
            skipSpace()
            if peek(UInt8(ascii: "}")) { i += 1; return .object(object) }
            while true {
                skipSpace()
                guard peek(UInt8(ascii: "\"")) else { throw fail("expected a key in quotes, got \(what())") }
                let key = try string()
                skipSpace()
                guard peek(UInt8(ascii: ":")) else { throw fail("expected \":\" after the key \"\(key.prefix(40))\", got \(what())") }
                i += 1
                skipSpace()
                let inner: Int? = user.map { $0 + 1 } ?? (nesting.valueKeys.contains(key) ? 0 : nil)
                object[key] = try value(envelope: envelope + 1, user: inner)
                skipSpace()
                guard i < bytes.count else { throw fail("the text ends inside an object: close it with \"}\"") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(object) }
                throw fail("expected \",\" or \"}\" in an object, got \(what())")
            }
        case UInt8(ascii: "["):
            try enter(envelope: envelope, user: user)
            i += 1
            var array: [JSONValue] = []
            skipSpace()
            if peek(UInt8(ascii: "]")) { i += 1; return .array(array) }
            while true {
                skipSpace()
                array.append(try value(envelope: envelope + 1, user: user.map { $0 + 1 }))
                skipSpace()
                guard i < bytes.count else { throw fail("the text ends inside an array: close it with \"]\"") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(array) }
                throw fail("expected \",\" or \"]\" in an array, got \(what())")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected \(what()) where a value should be")
        }
    }

    private func enter(envelope: Int, user: Int?) throws(JSONParseError) {
        if let user {
            guard user < nesting.valueDepth else {
                throw JSONParseError(kind: .tooDeep, offset: i,
                                     message: "a value nested deeper than \(nesting.valueDepth) levels: flatten it")
            }
        } else if envelope >= nesting.envelopeDepth {
            throw JSONParseError(kind: .tooDeep, offset: i,
                                 message: "JSON nested deeper than \(nesting.envelopeDepth) levels: flatten it")
        }
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private func peek(_ b: UInt8) -> Bool { i < bytes.count && bytes[i] == b }

    private func what() -> String {
        guard i < bytes.count else { return "the end of the text" }
        let b = bytes[i]
        return b >= 0x20 && b < 0x7F ? "\"\(Character(UnicodeScalar(b)))\"" : String(format: "byte 0x%02X", b)
    }

    private func fail(_ message: String) -> JSONParseError { JSONParseError(kind: .syntax, offset: i, message: message) }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("the text ends inside \"\(word)\"") }
        let w = word.utf8Start
        for k in 0..<n where bytes[i + k] != w[k] { throw fail("unexpected \(what()): expected \"\(word)\"") }
        i += n
    }

    private mutating func number() throws(JSONParseError) -> JSONValue {
        let start = i
        var isInteger = true
        if peek(UInt8(ascii: "-")) { i += 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { throw fail("a number needs a digit, got \(what())") }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { while i < bytes.count, isDigit(bytes[i]) { i += 1 } }
        if peek(UInt8(ascii: ".")) {
            isInteger = false
            i += 1
            guard i < bytes.count, isDigit(bytes[i]) else { throw fail("a fraction needs a digit, got \(what())") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            isInteger = false
            i += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw fail("an exponent needs a digit, got \(what())") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        if isInteger, let n = Int(text) { return .int(n) }
        guard let d = Double(text), d.isFinite else { throw JSONParseError(kind: .syntax, offset: start, message: "the number \(text.prefix(40)) is out of range") }
        return .double(d)
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private mutating func string() throws(JSONParseError) -> String {
        i += 1  // the opening quote
        let start = i
        // A long string: found and checked with the C library's vectorised scans (a byte loop is
        // slow in a debug build: a 10 MB string took seconds), then validated once.
        if bytes.count - i > 256, let fast = try longString(from: i) { return fast }
        // The common case: no escapes; one scan and one copy.
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let s = try utf8(start..<i)
                i += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail("a control character (\(what())) inside a string: escape it") }
            i += 1
        }
        var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw fail("a string is not valid UTF-8") }
                return s
            }
            if b < 0x20 { throw fail("a control character (\(what())) inside a string: escape it") }
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw fail("a lone high surrogate \\u escape: pair it with a low one")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("a high surrogate followed by \\u\(String(low, radix: 16)): pair it with a low one") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("a lone low surrogate \\u escape")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("\\u escape is not a character") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                i -= 1
                throw fail("unknown escape \\\(what()) in a string")
            }
        }
        throw fail("the text ends inside a string: close it with a quote")
    }

    /// The string from `start` when it has no escape (nil: it has one, or no end: the byte loop takes
    /// it); refuses a control character in it.
    private mutating func longString(from start: Int) throws(JSONParseError) -> String? {
        guard let base = bytes.baseAddress else { return nil }
        let rest = bytes.count - start
        guard let quote = memchr(base + start, Int32(UInt8(ascii: "\"")), rest) else { return nil }
        let end = start + (UnsafeRawPointer(quote) - UnsafeRawPointer(base + start))
        if memchr(base + start, Int32(UInt8(ascii: "\\")), end - start) != nil { return nil }
        for control in 0..<0x20 where memchr(base + start, Int32(control), end - start) != nil {
            i = start + (UnsafeRawPointer(memchr(base + start, Int32(control), end - start)!) - UnsafeRawPointer(base + start))
            throw fail("a control character (\(what())) inside a string: escape it")
        }
        let text = try utf8(start..<end)
        i = end + 1
        return text
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("the text ends inside a \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let d: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw fail("\\u needs four hex digits, got \(what())")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private func utf8(_ range: Range<Int>) throws(JSONParseError) -> String {
        guard let s = String(validating: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) else {
            throw JSONParseError(kind: .syntax, offset: range.lowerBound, message: "a string is not valid UTF-8")
        }
        return s
    }
}
