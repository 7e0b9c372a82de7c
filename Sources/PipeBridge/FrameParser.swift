/// What one frame is, read from its bytes without copying them: the payload
/// of a data frame is an offset into the line.
public enum FrameHeader: Sendable, Equatable {
    /// `D<route> <payload>`: the payload starts at `payloadOffset`.
    case data(route: Int, payloadOffset: Int)
    /// `A<n>`.
    case ack(Int)
    /// `{...}`: the whole line.
    case control
}

/// Parses the header of one frame (a line without its newline) from raw
/// bytes; `FrameDecoder` slices the payload from its read buffer.
public enum FrameParser {
    private static let digit0: UInt8 = 0x30, digit9: UInt8 = 0x39, space: UInt8 = 0x20

    /// The header of the frame whose bytes (no newline) are `line`.
    @inline(__always)
    public static func header(of line: UnsafeRawBufferPointer) throws(FrameError) -> FrameHeader {
        guard let first = line.first else { throw FrameError(.emptyFrame, "empty line") }
        switch first {
        case UInt8(ascii: "D"):
            let (slot, end) = try number(line, from: 1, code: .badSlot)
            let limit = line.count
            if end == limit || (line[end] == space && end + 1 == limit) {
                throw FrameError(.emptyPayload, "data frame D\(slot) has no payload")
            }
            guard line[end] == space else {
                throw FrameError(.badSlot, "data frame: expected a space after the slot number")
            }
            return .data(route: slot, payloadOffset: end + 1)
        case UInt8(ascii: "A"):
            let (count, end) = try number(line, from: 1, code: .badCount)
            guard end == line.count else {
                throw FrameError(.badCount, "ack frame: only digits may follow \"A\"")
            }
            return .ack(count)
        case UInt8(ascii: "{"):
            return .control
        default:
            throw FrameError(.unknownKind, "frame starts with byte \(first); expected D, A or {")
        }
    }

    /// Reads 1-9 digits (no leading zero unless "0") at `start`; returns the value and the index after it.
    @inline(__always)
    private static func number(_ line: UnsafeRawBufferPointer, from start: Int, code: FrameError.Code) throws(FrameError) -> (Int, Int) {
        let limit = line.count
        var i = start
        var value = 0
        while i < limit {
            let b = line[i]
            guard b >= digit0, b <= digit9 else { break }
            value = value &* 10 &+ Int(b &- digit0)
            i += 1
            if i - start > 9 { throw FrameError(code, "number longer than 9 digits") }
        }
        let digits = i - start
        if digits == 0 { throw FrameError(code, "expected a decimal number") }
        if digits > 1, line[start] == digit0 { throw FrameError(code, "leading zero in a number") }
        return (value, i)
    }
}
