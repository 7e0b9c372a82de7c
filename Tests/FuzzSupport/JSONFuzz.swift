import FlowModel

/// Random JSON for the parsers that face the outside: values of every type,
/// strings that stress error messages (newlines, quotes, control bytes,
/// non-ASCII, very long ones), and byte-level mutations of JSON text.
public enum JSONFuzz {
    static let nastyStrings = [
        "", " ", "in", "out", "a.b", "a/b", "/", ".", "..", "a\nb", "line\r\nbreak", "tab\there", "quote\"d", "back\\slash",
        "nul\u{0}byte", "bell\u{7}", "\u{1b}[31mred", "émoji 😀", "cafe\u{301}", "\u{202e}rtl", "null", "true", "0", "-1",
        "__proto__", "constructor", "x.y.z", "m.", ".p", "{}", "[]",
    ]

    /// A string, usually short, sometimes nasty, sometimes long.
    public static func string(using g: inout SeededGenerator, maxLength: Int = 80) -> String {
        switch Int.random(in: 0..<10, using: &g) {
        case 0, 1: return g.pick(nastyStrings)
        case 2: return identifier(using: &g, length: Int.random(in: 60...70, using: &g))
        case 3: return String(repeating: g.pick(["a", "é", "\n", "x"]), count: Int.random(in: 0...maxLength * 4, using: &g))
        case 4:
            let scalars = (0..<Int.random(in: 0...maxLength, using: &g)).compactMap { _ in
                Unicode.Scalar(UInt32.random(in: 0...0x2FFFF, using: &g))
            }
            return String(String.UnicodeScalarView(scalars))
        default: return identifier(using: &g, length: Int.random(in: 1...12, using: &g))
        }
    }

    /// Letters, digits, `_` and `-`: what ids allow.
    public static func identifier(using g: inout SeededGenerator, length: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        return String((0..<length).map { _ in alphabet.randomElement(using: &g)! })
    }

    /// Any JSON value, nested at most `depth` deep.
    public static func value(using g: inout SeededGenerator, depth: Int = 3) -> JSONValue {
        let kinds = depth > 0 ? 8 : 6
        switch Int.random(in: 0..<kinds, using: &g) {
        case 0: return .null
        case 1: return .bool(g.chance(0.5))
        case 2: return .int(g.pick([0, 1, -1, 2, 64, 65, Int.max, Int.min, Int.random(in: -1000...1000, using: &g)]))
        case 3: return .double(g.pick([0.5, -0.0, 1e300, -1e-300, 3.0, Double.random(in: -1e6...1e6, using: &g)]))
        case 4, 5: return .string(string(using: &g))
        case 6: return .array((0..<Int.random(in: 0...4, using: &g)).map { _ in value(using: &g, depth: depth - 1) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &g) { o[string(using: &g, maxLength: 12)] = value(using: &g, depth: depth - 1) }
            return .object(o)
        }
    }

    /// `text` with a few random byte edits: flips, insertions, deletions,
    /// truncation, and structural characters dropped in.
    public static func mutate(_ text: [UInt8], using g: inout SeededGenerator) -> [UInt8] {
        var bytes = text
        for _ in 0..<Int.random(in: 1...4, using: &g) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &g)
            switch Int.random(in: 0..<6, using: &g) {
            case 0 where !bytes.isEmpty: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &g))
            case 1: bytes.insert(g.pick(Array("{}[]\",:\\\n0e-.".utf8)), at: at)
            case 2 where !bytes.isEmpty: bytes.remove(at: at)
            case 3: bytes = Array(bytes.prefix(at))
            case 4: bytes.insert(UInt8.random(in: 0...255, using: &g), at: at)
            default:
                // Repeat a slice: deep nesting and long runs.
                let end = min(bytes.count, at + Int.random(in: 1...8, using: &g))
                let slice = bytes[at..<end]
                for _ in 0..<Int.random(in: 1...64, using: &g) { bytes.insert(contentsOf: slice, at: at) }
            }
        }
        return bytes
    }
}
