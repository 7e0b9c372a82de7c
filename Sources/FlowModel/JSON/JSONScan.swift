/// A check that bytes are exactly one JSON value (RFC 8259), without
/// building anything: one pass, no allocation but a bit per open container.
/// For text a client sent that is passed on as it is (an output payload in
/// an event): cheaper than parsing, and enough to splice it safely.
public enum JSONScan {
    public static func isOneValue(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isOneValue($0) }
    }

    public static func isOneValue(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        // Open containers, innermost last: true for an object.
        var open: [Bool] = []
        func space() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
        func digits() -> Bool {
            let s = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            return i > s
        }
        func string() -> Bool {
            i += 1
            while i < b.count {
                switch b[i] {
                case UInt8(ascii: "\""): i += 1; return true
                case UInt8(ascii: "\\"):
                    guard i + 1 < b.count else { return false }
                    if b[i + 1] == UInt8(ascii: "u") {
                        guard i + 5 < b.count else { return false }
                        for k in 2...5 where !b[i + k].isHexDigit { return false }
                        i += 6
                    } else {
                        guard "\"\\/bfnrt".utf8.contains(b[i + 1]) else { return false }
                        i += 2
                    }
                case 0..<0x20: return false
                default: i += 1
                }
            }
            return false
        }
        func scalar() -> Bool {
            guard i < b.count else { return false }
            switch b[i] {
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return word("true")
            case UInt8(ascii: "f"): return word("false")
            case UInt8(ascii: "n"): return word("null")
            default:
                if b[i] == UInt8(ascii: "-") { i += 1 }
                guard i < b.count else { return false }
                if b[i] == UInt8(ascii: "0") { i += 1 } else if !digits() { return false }
                if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; guard digits() else { return false } }
                if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                    i += 1
                    if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                    guard digits() else { return false }
                }
                return true
            }
        }
        func word(_ w: StaticString) -> Bool {
            let n = w.utf8CodeUnitCount
            guard i + n <= b.count else { return false }
            for k in 0..<n where b[i + k] != w.utf8Start[k] { return false }
            i += n
            return true
        }
        space()
        // A value; then, while inside containers, `,` and the next member or the container's end.
        value: while true {
            space()
            guard i < b.count else { return false }
            if b[i] == UInt8(ascii: "{") || b[i] == UInt8(ascii: "[") {
                let isObject = b[i] == UInt8(ascii: "{")
                open.append(isObject)
                i += 1
                space()
                if i < b.count, b[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    open.removeLast()
                    i += 1
                } else {
                    if isObject {
                        guard i < b.count, b[i] == UInt8(ascii: "\""), string() else { return false }
                        space()
                        guard i < b.count, b[i] == UInt8(ascii: ":") else { return false }
                        i += 1
                    }
                    continue value
                }
            } else if !scalar() {
                return false
            }
            // After a value: close containers or go on to the next member.
            while let isObject = open.last {
                space()
                guard i < b.count else { return false }
                if b[i] == UInt8(ascii: ",") {
                    i += 1
                    if isObject {
                        space()
                        guard i < b.count, b[i] == UInt8(ascii: "\""), string() else { return false }
                        space()
                        guard i < b.count, b[i] == UInt8(ascii: ":") else { return false }
                        i += 1
                    }
                    continue value
                }
                guard b[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else { return false }
                open.removeLast()
                i += 1
            }
            space()
            return i == b.count
        }
    }
}

private extension UInt8 {
    var isHexDigit: Bool { (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self) }
}
