import FlowModel
import Foundation
import NIOCore

/// Writes frames for a runtime into a buffer; the caller writes the buffer in one go.
public enum FrameEncoder {
    /// `D<slot> <payload>\n`, in one write into `buffer`.
    @inline(__always)
    public static func writeData(slot: Int, payload: ByteBuffer, into buffer: inout ByteBuffer) {
        let count = payload.readableBytes
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count + 23) { out in
            let base = out.baseAddress!
            base.storeBytes(of: UInt8(ascii: "D"), as: UInt8.self)
            var at = 1 + writeDecimal(slot, at: base + 1)
            base.storeBytes(of: UInt8(ascii: " "), toByteOffset: at, as: UInt8.self)
            at += 1
            if count > 0 {
                payload.withUnsafeReadableBytes { bytes in
                    (base + at).copyMemory(from: bytes.baseAddress!, byteCount: count)
                }
                at += count
            }
            base.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: at, as: UInt8.self)
            return at + 1
        }
    }

    /// Writes one control frame, a JSON line. The frames without fields are constant bytes.
    public static func write(_ message: HostMessage, into buffer: inout ByteBuffer) throws {
        switch message {
        case .configure(let configure): try writeJSON(configure, into: &buffer)
        case .swap(let swap): try writeJSON(swap, into: &buffer)
        case .stop: buffer.writeStaticString("{\"t\":\"stop\"}\n")
        case .report: buffer.writeStaticString("{\"t\":\"report\"}\n")
        case .mode(.host): buffer.writeStaticString("{\"t\":\"mode\",\"via\":\"host\"}\n")
        case .mode(.direct): buffer.writeStaticString("{\"t\":\"mode\",\"via\":\"direct\"}\n")
        }
    }

    private static func writeJSON<T: Encodable>(_ value: T, into buffer: inout ByteBuffer) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try encoder.encode(value)
        buffer.writeBytes(data)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// Writes the decimal digits of `value` (≥ 0, at most 20 digits) at `out`; returns how many.
    @inline(__always)
    static func writeDecimal(_ value: Int, at out: UnsafeMutableRawPointer) -> Int {
        if value < 10 {
            out.storeBytes(of: UInt8(truncatingIfNeeded: 0x30 &+ value), as: UInt8.self)
            return 1
        }
        var digits = 0
        var n = value
        while n > 0 { digits += 1; n /= 10 }
        n = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            out.storeBytes(of: UInt8(truncatingIfNeeded: 0x30 &+ n % 10), toByteOffset: i, as: UInt8.self)
            n /= 10
        }
        return digits
    }
}
