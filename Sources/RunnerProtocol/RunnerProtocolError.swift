/// A message of the runner protocol that cannot be read: a stable code
/// (shared with the test vectors and the browser runner) and a sentence.
/// The side that reads it closes the connection with the sentence as reason.
public struct RunnerProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        // Control messages (JSON text)
        case badJSON = "bad-json"
        case unknownType = "unknown-type"
        case missingField = "missing-field"
        case badField = "bad-field"
        case messageTooLarge = "message-too-large"
        // Data batches
        case badMagic = "bad-magic"
        case unsupportedVersion = "unsupported-version"
        case badBatchHeader = "bad-batch-header"
        case badFrameHeader = "bad-frame-header"
        case emptyPayload = "empty-payload"
        case frameTooLarge = "frame-too-large"
        case truncated = "truncated"
        case badFrameEnd = "bad-frame-end"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
