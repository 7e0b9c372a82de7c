import NIOCore
import RunnerProtocol

/// Splits a `commit` frame into its module entries without decoding them:
/// commits come with every ack, and a JSON decoder per ack would sit on the
/// message path (measured: +70% round-trip latency). The entries are decoded
/// only when a process ends (`CommitLedger.end`).
///
/// Reads the compact form the runtimes write,
/// `{"t":"commit","modules":{"id":{...},...}}`; anything else (whitespace,
/// escapes in ids) returns nil and the frame is decoded as usual.
enum CommitScanner {
    struct Entry: Equatable {
        var module: String
        /// The module's JSON object (`{"in":..,"out":..,"errors":..,"state":..}`), copied out of the read buffer.
        var json: ByteBuffer
        var hasState: Bool
    }

    private static let prefix = Array(#"{"t":"commit","modules":{"#.utf8)
    private static let stateKey = Array("state".utf8)

    /// Whether `frame` starts like a commit frame.
    static func isCommit(_ frame: ByteBuffer) -> Bool {
        frame.readableBytes >= prefix.count && frame.readableBytesView.prefix(prefix.count).elementsEqual(prefix)
    }

    /// The entries of a compact commit frame, or nil when `frame` is not one.
    static func entries(_ frame: ByteBuffer) -> [Entry]? {
        guard isCommit(frame) else { return nil }
        return frame.withUnsafeReadableBytes { bytes -> [Entry]? in
            var i = prefix.count
            var entries: [Entry] = []
            func byte(_ at: Int) -> UInt8? { at < bytes.count ? bytes[at] : nil }
            if byte(i) == UInt8(ascii: "}") {
                i += 1
            } else {
                while true {
                    guard byte(i) == UInt8(ascii: "\"") else { return nil }
                    let idStart = i + 1
                    i = idStart
                    while let b = byte(i), b != UInt8(ascii: "\"") {
                        if b == UInt8(ascii: "\\") { return nil }
                        i += 1
                    }
                    guard byte(i) == UInt8(ascii: "\"") else { return nil }
                    let module = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[idStart..<i]), as: UTF8.self)
                    i += 1
                    guard byte(i) == UInt8(ascii: ":"), byte(i + 1) == UInt8(ascii: "{") else { return nil }
                    let start = i + 1
                    guard let (end, hasState) = objectEnd(bytes, from: start) else { return nil }
                    var json = ByteBuffer()
                    json.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                    entries.append(Entry(module: module, json: json, hasState: hasState))
                    i = end
                    if byte(i) == UInt8(ascii: ",") { i += 1; continue }
                    guard byte(i) == UInt8(ascii: "}") else { return nil }
                    i += 1
                    break
                }
            }
            guard byte(i) == UInt8(ascii: "}"), i + 1 == bytes.count else { return nil }
            return entries
        }
    }

    /// The index after the JSON object that starts at `start`, and whether it has a top-level "state" key.
    private static func objectEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (Int, Bool)? {
        var depth = 0
        var i = start
        var hasState = false
        var expectKey = false
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                let stringStart = i + 1
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                guard i < bytes.count else { return nil }
                if depth == 1, expectKey, UnsafeRawBufferPointer(rebasing: bytes[stringStart..<i]).elementsEqual(stateKey) { hasState = true }
                expectKey = false
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectKey = depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return (i + 1, hasState) }
            case UInt8(ascii: ","):
                if depth == 1 { expectKey = true }
            default:
                break
            }
            i += 1
        }
        return nil
    }
}
