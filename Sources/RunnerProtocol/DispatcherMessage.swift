import FlowModel
import Foundation

/// A control message from the dispatcher to a runner (a WebSocket text
/// message: one JSON object with `t`). Data goes as `DataBatch`es instead.
public enum DispatcherMessage: Sendable, Equatable {
    case welcome(RunnerWelcome)
    /// Followed by closing the connection.
    case refused(RunnerRefusal)
    /// Answered by one `RunnerMessage.reply` with the same `id`.
    case command(id: Int, RunnerCommand)
    case ping(Int)
    case pong(Int)

    /// The `t` on the wire.
    public var type: String {
        switch self {
        case .welcome: "welcome"
        case .refused: "refused"
        case .command: "command"
        case .ping: "ping"
        case .pong: "pong"
        }
    }

    /// Reads one text message; the error's code is one of the protocol's.
    public static func decode(_ data: Data, maxBytes: Int = RunnerProtocol.defaultMaxMessageBytes) throws(RunnerProtocolError) -> DispatcherMessage {
        try RunnerProtocolJSON.decode(DispatcherMessage.self, from: data, maxBytes: maxBytes)
    }

    /// The message as compact JSON text.
    public func encoded() -> Data { RunnerProtocolJSON.encode(self) }
}

extension DispatcherMessage: Codable {
    enum CodingKeys: String, CodingKey { case t, id, command, n }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let t = try c.decode(String.self, forKey: .t)
        switch t {
        case "welcome": self = .welcome(try RunnerWelcome(from: decoder))
        case "refused": self = .refused(try RunnerRefusal(from: decoder))
        case "command": self = .command(id: try c.decode(Int.self, forKey: .id), try c.decode(RunnerCommand.self, forKey: .command))
        case "ping": self = .ping(try c.decode(Int.self, forKey: .n))
        case "pong": self = .pong(try c.decode(Int.self, forKey: .n))
        default: throw RunnerProtocolError(.unknownType, "unknown message type \"\(t)\" from the dispatcher")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .t)
        switch self {
        case .welcome(let welcome): try welcome.encode(to: encoder)
        case .refused(let refusal): try refusal.encode(to: encoder)
        case .command(let id, let command): try c.encode(id, forKey: .id); try c.encode(command, forKey: .command)
        case .ping(let n), .pong(let n): try c.encode(n, forKey: .n)
        }
    }
}
