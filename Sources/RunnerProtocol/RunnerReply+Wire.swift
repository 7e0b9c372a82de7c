import FlowModel

/// `RunnerReply` as the runner protocol writes it: an object with `kind`
/// (`ok`, `runtimes`, `status`, `bool`, `step`, `environments`, `environment`, `released`, `failure`) and its fields.
struct WireReply: Codable {
    var reply: RunnerReply

    init(_ reply: RunnerReply) { self.reply = reply }

    enum CodingKeys: String, CodingKey { case kind, runtimes, flows, value, result, code, message, environments, envId, states }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "ok": reply = .ok
        case "runtimes": reply = .runtimes(try c.decode([RuntimeInfo].self, forKey: .runtimes))
        case "status": reply = .status(try c.decode([FlowRunStatus].self, forKey: .flows))
        case "bool": reply = .bool(try c.decode(Bool.self, forKey: .value))
        case "step": reply = .step(try c.decode(JSONValue.self, forKey: .result))
        case "environments": reply = .environments(try c.decode([EnvironmentInfo].self, forKey: .environments))
        case "environment": reply = .environment(try c.decode(EnvironmentID.self, forKey: .envId))
        case "released":
            // A list of {module, state}: a user value sits under `state`, whose nesting bound is the user values' one.
            let states = try c.decode([ReleasedState].self, forKey: .states)
            reply = .released(Dictionary(states.map { ($0.module, $0.state) }) { a, _ in a })
        case "failure": reply = .failure(code: ReplyCode(rawValue: try c.decode(String.self, forKey: .code)), message: try c.decode(String.self, forKey: .message))
        default: throw RunnerProtocolError(.unknownType, "unknown reply kind \"\(kind)\"")
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch reply {
        case .ok: try c.encode("ok", forKey: .kind)
        case .runtimes(let r): try c.encode("runtimes", forKey: .kind); try c.encode(r, forKey: .runtimes)
        case .status(let s): try c.encode("status", forKey: .kind); try c.encode(s, forKey: .flows)
        case .bool(let b): try c.encode("bool", forKey: .kind); try c.encode(b, forKey: .value)
        case .step(let r): try c.encode("step", forKey: .kind); try c.encode(r, forKey: .result)
        case .environments(let list): try c.encode("environments", forKey: .kind); try c.encode(list, forKey: .environments)
        case .environment(let id): try c.encode("environment", forKey: .kind); try c.encode(id, forKey: .envId)
        case .released(let states):
            try c.encode("released", forKey: .kind)
            try c.encode(states.sorted { $0.key < $1.key }.map { ReleasedState(module: $0.key, state: $0.value) }, forKey: .states)
        case .failure(let code, let message):
            try c.encode("failure", forKey: .kind); try c.encode(code.rawValue, forKey: .code); try c.encode(message, forKey: .message)
        }
    }
}

/// One module's state in a `released` reply.
struct ReleasedState: Codable {
    var module: ModuleID
    var state: JSONValue
}

extension RunnerReply {
    /// The `kind` on the wire.
    public var wireKind: String {
        switch self {
        case .ok: "ok"
        case .runtimes: "runtimes"
        case .status: "status"
        case .bool: "bool"
        case .step: "step"
        case .environments: "environments"
        case .environment: "environment"
        case .released: "released"
        case .failure: "failure"
        }
    }
}
