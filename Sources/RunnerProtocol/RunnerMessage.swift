import FlowModel
import Foundation

/// A control message from a runner to the dispatcher (a WebSocket text
/// message: one JSON object with `t`). Data goes as `DataBatch`es instead.
public enum RunnerMessage: Sendable {
    /// The first message on a connection.
    case hello(RunnerHello)
    /// The answer to the dispatcher's command `id`.
    case reply(id: Int, RunnerReply)
    case event(RunnerEvent)
    /// The latest `state` of modules whose state changed (at most once per
    /// heartbeat interval per flow): what a module takes along when its runner is lost.
    case states(flow: FlowID, modules: [ModuleStateReport])
    case ping(Int)
    case pong(Int)

    /// The `t` on the wire.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .reply: "reply"
        case .event: "event"
        case .states: "states"
        case .ping: "ping"
        case .pong: "pong"
        }
    }

    /// Reads one text message; the error's code is one of the protocol's.
    public static func decode(_ data: Data, maxBytes: Int = RunnerProtocol.defaultMaxMessageBytes) throws(RunnerProtocolError) -> RunnerMessage {
        try RunnerProtocolJSON.decode(RunnerMessage.self, from: data, maxBytes: maxBytes)
    }

    /// The message as compact JSON text.
    public func encoded() -> Data { RunnerProtocolJSON.encode(self) }
}

/// One module's state as last reported, with the generation it ran at.
public struct ModuleStateReport: Sendable, Equatable, Codable {
    public var module: ModuleID
    public var gen: Int
    public var state: JSONValue
    public init(module: ModuleID, gen: Int, state: JSONValue) { self.module = module; self.gen = gen; self.state = state }
}

extension RunnerMessage: Codable {
    enum CodingKeys: String, CodingKey { case t, id, reply, event, flow, modules, n }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let t = try c.decode(String.self, forKey: .t)
        switch t {
        case "hello": self = .hello(try RunnerHello(from: decoder))
        case "reply": self = .reply(id: try c.decode(Int.self, forKey: .id), try c.decode(WireReply.self, forKey: .reply).reply)
        case "event": self = .event(try c.decode(WireEvent.self, forKey: .event).event)
        case "states": self = .states(flow: try c.decode(FlowID.self, forKey: .flow), modules: try c.decode([ModuleStateReport].self, forKey: .modules))
        case "ping": self = .ping(try c.decode(Int.self, forKey: .n))
        case "pong": self = .pong(try c.decode(Int.self, forKey: .n))
        default: throw RunnerProtocolError(.unknownType, "unknown message type \"\(t)\" from a runner")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .t)
        switch self {
        case .hello(let hello): try hello.encode(to: encoder)
        case .reply(let id, let reply): try c.encode(id, forKey: .id); try c.encode(WireReply(reply), forKey: .reply)
        case .event(let event): try c.encode(WireEvent(event), forKey: .event)
        case .states(let flow, let modules): try c.encode(flow, forKey: .flow); try c.encode(modules, forKey: .modules)
        case .ping(let n), .pong(let n): try c.encode(n, forKey: .n)
        }
    }
}
