import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Splits the byte stream from a runtime into frames on `\n`, enforcing the
/// frame size limit even for a line that has not ended yet.
///
/// One call finds the newline (memchr) and parses the header in the same
/// pass over raw bytes; a data frame costs one slice of the read buffer (its
/// payload), nothing is copied.
public struct FrameDecoder: Sendable {
    public let maxFrameBytes: Int
    /// Bytes at the front of the buffer already searched for a newline.
    private var scanned = 0

    public init(maxFrameBytes: Int) { self.maxFrameBytes = maxFrameBytes }

    private enum Step {
        case partial(readable: Int)
        case frame(FrameHeader, length: Int)
        case failed(FrameError)
    }

    /// The next complete frame, or nil when the buffer holds only part of one.
    @inline(__always)
    public mutating func next(from buffer: inout ByteBuffer) throws(FrameError) -> InboundFrame? {
        let scanned = self.scanned
        let maxFrameBytes = self.maxFrameBytes
        let step: Step = buffer.withUnsafeReadableBytes { bytes in
            guard scanned < bytes.count, let base = bytes.baseAddress,
                  let hit = memchr(base + scanned, 0x0A, bytes.count - scanned) else { return .partial(readable: bytes.count) }
            let length = base.distance(to: UnsafeRawPointer(hit))
            if length > maxFrameBytes {
                return .failed(FrameError(.frameTooLarge, "a frame of \(length) bytes is over the limit of \(maxFrameBytes)"))
            }
            do throws(FrameError) { return .frame(try FrameParser.header(of: UnsafeRawBufferPointer(rebasing: bytes[..<length])), length: length) }
            catch { return .failed(error) }
        }
        switch step {
        case .partial(let readable):
            self.scanned = readable
            if readable > maxFrameBytes {
                throw FrameError(.frameTooLarge, "a frame grew past \(maxFrameBytes) bytes without a newline")
            }
            return nil
        case .failed(let error):
            self.scanned = 0
            throw error
        case .frame(let header, let length):
            self.scanned = 0
            let start = buffer.readerIndex
            let frame: InboundFrame
            switch header {
            case .data(let route, let offset):
                frame = .data(route: route, payload: buffer.getSlice(at: start + offset, length: length - offset)!)
            case .ack(let count):
                frame = .ack(count)
            case .control:
                frame = .control(buffer.getSlice(at: start, length: length)!)
            }
            buffer.moveReaderIndex(forwardBy: length + 1)
            return frame
        }
    }
}
