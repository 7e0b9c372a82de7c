/// A NATS server (or something posing as one) sent bytes that are not the protocol:
/// the connection is closed; the text names what was wrong.
public struct NATSProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
