import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Splits the byte stream from a runtime into frames on `\n`, enforcing the
/// frame size limit even for a line that has not ended yet.
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = InboundFrame

    public let maxFrameBytes: Int
    /// Bytes at the front of the buffer already searched for a newline.
    private var scanned = 0

    public init(maxFrameBytes: Int) { self.maxFrameBytes = maxFrameBytes }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// The next complete frame, or nil when the buffer holds only part of one.
    public mutating func next(from buffer: inout ByteBuffer) throws(FrameError) -> InboundFrame? {
        let readable = buffer.readableBytes
        // memchr: a byte-by-byte search costs a quarter of the host's time on large frames.
        let found: Int? = buffer.withUnsafeReadableBytes { bytes in
            guard scanned < bytes.count, let base = bytes.baseAddress,
                  let hit = memchr(base + scanned, 0x0A, bytes.count - scanned) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
        guard let length = found else {
            scanned = readable
            if readable > maxFrameBytes {
                throw FrameError(.frameTooLarge, "a frame grew past \(maxFrameBytes) bytes without a newline")
            }
            return nil
        }
        scanned = 0
        if length > maxFrameBytes {
            throw FrameError(.frameTooLarge, "a frame of \(length) bytes is over the limit of \(maxFrameBytes)")
        }
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        return try FrameParser.parse(line)
    }
}
