import FlowModel

/// `RunnerEvent` as the runner protocol writes it: an object with `type`
/// (the API's event names where they exist) and flat fields. Payloads stay
/// JSON text in a string, so the dispatcher splices them into API events
/// without parsing them.
struct WireEvent: Codable {
    var event: RunnerEvent

    init(_ event: RunnerEvent) { self.event = event }

    enum CodingKeys: String, CodingKey {
        case type, flow, module, port, payload, error, runtime, record, state, reason, pid, restarts, result
        case revision, changed, added, removed, moved
        case progress
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        if type == "dependencies" {
            event = .dependencies(try c.decode(EnvironmentProgress.self, forKey: .progress))
            return
        }
        let flow = try c.decode(FlowID.self, forKey: .flow)
        switch type {
        case "output":
            event = .output(flow: flow, module: try c.decode(ModuleID.self, forKey: .module),
                            port: try c.decode(PortName.self, forKey: .port), payload: try c.decode(String.self, forKey: .payload))
        case "error":
            event = .moduleError(flow: flow, module: try c.decode(ModuleID.self, forKey: .module),
                                 error: try c.decode(ModuleErrorRecord.self, forKey: .error))
        case "log":
            event = .log(flow: flow, module: try c.decodeIfPresent(ModuleID.self, forKey: .module),
                         runtime: try c.decode(RuntimeKind.self, forKey: .runtime), record: try c.decode(LogRecord.self, forKey: .record))
        case "flowState":
            event = .flowState(flow: flow, state: try c.decode(FlowRunState.self, forKey: .state),
                               reason: try c.decodeIfPresent(String.self, forKey: .reason))
        case "instanceState":
            event = .instanceState(flow: flow, runtime: try c.decode(RuntimeKind.self, forKey: .runtime),
                                   state: try c.decode(InstanceState.self, forKey: .state),
                                   pid: try c.decodeIfPresent(Int32.self, forKey: .pid),
                                   restarts: try c.decode(Int.self, forKey: .restarts),
                                   reason: try c.decodeIfPresent(String.self, forKey: .reason))
        case "paused":
            event = .paused(flow: flow, module: try c.decodeIfPresent(ModuleID.self, forKey: .module),
                            port: try c.decodeIfPresent(PortName.self, forKey: .port),
                            payload: try c.decodeIfPresent(String.self, forKey: .payload))
        case "stepped":
            event = .stepped(flow: flow, result: try c.decode(JSONValue.self, forKey: .result))
        case "resumed":
            event = .resumed(flow: flow)
        case "swapped":
            event = .swapped(flow: flow, revision: try c.decodeIfPresent(Int.self, forKey: .revision),
                             changed: try c.decode([ModuleID].self, forKey: .changed), added: try c.decode([ModuleID].self, forKey: .added),
                             removed: try c.decode([ModuleID].self, forKey: .removed), moved: try c.decode([ModuleID].self, forKey: .moved))
        default:
            throw RunnerProtocolError(.unknownType, "unknown event type \"\(type)\"")
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(event.wireType, forKey: .type)
        try c.encodeIfPresent(event.flow, forKey: .flow)
        switch event {
        case .dependencies(let progress):
            try c.encode(progress, forKey: .progress)
        case .output(_, let module, let port, let payload):
            try c.encode(module, forKey: .module); try c.encode(port, forKey: .port); try c.encode(payload, forKey: .payload)
        case .moduleError(_, let module, let error):
            try c.encode(module, forKey: .module); try c.encode(error, forKey: .error)
        case .log(_, let module, let runtime, let record):
            try c.encodeIfPresent(module, forKey: .module); try c.encode(runtime, forKey: .runtime); try c.encode(record, forKey: .record)
        case .flowState(_, let state, let reason):
            try c.encode(state, forKey: .state); try c.encodeIfPresent(reason, forKey: .reason)
        case .instanceState(_, let runtime, let state, let pid, let restarts, let reason):
            try c.encode(runtime, forKey: .runtime); try c.encode(state, forKey: .state); try c.encodeIfPresent(pid, forKey: .pid)
            try c.encode(restarts, forKey: .restarts); try c.encodeIfPresent(reason, forKey: .reason)
        case .paused(_, let module, let port, let payload):
            try c.encodeIfPresent(module, forKey: .module); try c.encodeIfPresent(port, forKey: .port); try c.encodeIfPresent(payload, forKey: .payload)
        case .stepped(_, let result):
            try c.encode(result, forKey: .result)
        case .resumed:
            break
        case .swapped(_, let revision, let changed, let added, let removed, let moved):
            try c.encodeIfPresent(revision, forKey: .revision); try c.encode(changed, forKey: .changed); try c.encode(added, forKey: .added)
            try c.encode(removed, forKey: .removed); try c.encode(moved, forKey: .moved)
        }
    }
}

extension RunnerEvent {
    /// The `type` on the wire.
    public var wireType: String {
        switch self {
        case .output: "output"
        case .moduleError: "error"
        case .log: "log"
        case .flowState: "flowState"
        case .instanceState: "instanceState"
        case .paused: "paused"
        case .stepped: "stepped"
        case .resumed: "resumed"
        case .swapped: "swapped"
        case .dependencies: "dependencies"
        }
    }
}
