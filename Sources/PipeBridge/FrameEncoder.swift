import FlowModel
import Foundation
import NIOCore

/// Writes frames for a runtime into a buffer; the caller writes the buffer in one go.
public enum FrameEncoder {
    @inline(__always)
    public static func writeData(slot: Int, payload: ByteBuffer, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "D"))
        writeDecimal(slot, into: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        var p = payload
        buffer.writeBuffer(&p)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    public static func writeControl<T: Encodable>(_ value: T, into buffer: inout ByteBuffer) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try encoder.encode(value)
        buffer.writeBytes(data)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    public static func writeStop(into buffer: inout ByteBuffer) {
        buffer.writeString("{\"t\":\"stop\"}\n")
    }

    @inline(__always)
    static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        if value < 10 { buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 + value)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while n > 0 { raw[19 - count] = UInt8(truncatingIfNeeded: 0x30 + n % 10); n /= 10; count += 1 }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(20 - count)...]))
        }
    }
}
