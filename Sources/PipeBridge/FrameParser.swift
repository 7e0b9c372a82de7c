import NIOCore

/// Parses one frame (a line without its newline) into an `InboundFrame`.
public enum FrameParser {
    private static let digit0: UInt8 = 0x30, digit9: UInt8 = 0x39, space: UInt8 = 0x20

    public static func parse(_ line: ByteBuffer) throws(FrameError) -> InboundFrame {
        guard let first = line.getInteger(at: line.readerIndex, as: UInt8.self) else {
            throw FrameError(.emptyFrame, "empty line")
        }
        switch first {
        case UInt8(ascii: "D"):
            let (slot, end) = try number(line, from: line.readerIndex + 1, code: .badSlot)
            let limit = line.readerIndex + line.readableBytes
            if end == limit || (line.getInteger(at: end, as: UInt8.self) == space && end + 1 == limit) {
                throw FrameError(.emptyPayload, "data frame D\(slot) has no payload")
            }
            guard line.getInteger(at: end, as: UInt8.self) == space else {
                throw FrameError(.badSlot, "data frame: expected a space after the slot number")
            }
            let payload = line.getSlice(at: end + 1, length: limit - end - 1)!
            return .data(route: slot, payload: payload)
        case UInt8(ascii: "A"):
            let (count, end) = try number(line, from: line.readerIndex + 1, code: .badCount)
            guard end == line.readerIndex + line.readableBytes else {
                throw FrameError(.badCount, "ack frame: only digits may follow \"A\"")
            }
            return .ack(count)
        case UInt8(ascii: "{"):
            return .control(line)
        default:
            throw FrameError(.unknownKind, "frame starts with byte \(first); expected D, A or {")
        }
    }

    /// Reads 1-9 digits (no leading zero unless "0") at `start`; returns the value and the index after it.
    private static func number(_ line: ByteBuffer, from start: Int, code: FrameError.Code) throws(FrameError) -> (Int, Int) {
        let limit = line.readerIndex + line.readableBytes
        var i = start
        var value = 0
        while i < limit, let b = line.getInteger(at: i, as: UInt8.self), b >= digit0, b <= digit9 {
            value = value * 10 + Int(b - digit0)
            i += 1
            if i - start > 9 { throw FrameError(code, "number longer than 9 digits") }
        }
        let digits = i - start
        if digits == 0 { throw FrameError(code, "expected a decimal number") }
        if digits > 1, line.getInteger(at: start, as: UInt8.self) == digit0 { throw FrameError(code, "leading zero in a number") }
        return (value, i)
    }
}
