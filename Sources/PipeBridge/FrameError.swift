/// A frame that breaks docs/protocol.md. The codes are those of the shared test vectors.
public struct FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case emptyFrame = "empty-frame"
        case unknownKind = "unknown-kind"
        case badSlot = "bad-slot"
        case emptyPayload = "empty-payload"
        case badCount = "bad-count"
        case badControl = "bad-control"
        case frameTooLarge = "frame-too-large"
    }
    public var code: Code
    public var detail: String
    public init(_ code: Code, _ detail: String) { self.code = code; self.detail = detail }
    public var description: String { "protocol error (\(code.rawValue)): \(detail)" }
}
