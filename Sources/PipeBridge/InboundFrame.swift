import NIOCore

/// One frame read from a runtime (docs/protocol.md). Payloads and control
/// frames are slices of the read buffer: nothing is decoded here.
public enum InboundFrame: Sendable {
    /// `D<route> <payload>`: the payload bytes, forwarded as they are.
    case data(route: Int, payload: ByteBuffer)
    /// `A<n>`: the runtime finished the first n data frames it received.
    case ack(Int)
    /// `{...}`: a control frame, JSON text.
    case control(ByteBuffer)
}
