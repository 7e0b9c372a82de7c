import FlowModel

/// What a runner tells the dispatcher as it happens. Codable, so a remote
/// runner can send the same events over WebSocket.
public enum RunnerEvent: Sendable, Codable {
    /// A message on an output port connected to nothing: a flow output. `payload` is JSON text.
    case output(flow: FlowID, module: ModuleID, port: PortName, payload: String)
    case moduleError(flow: FlowID, module: ModuleID, error: ModuleErrorRecord)
    case log(flow: FlowID, module: ModuleID?, runtime: RuntimeKind, record: LogRecord)
    case flowState(flow: FlowID, state: FlowRunState, reason: String?)
    case instanceState(flow: FlowID, runtime: RuntimeKind, state: InstanceState, pid: Int32?, restarts: Int, reason: String?)
    /// The debugger paused the flow; module, port and payload (JSON text) of the message that hit a breakpoint, if one did.
    case paused(flow: FlowID, module: ModuleID?, port: PortName?, payload: String?)
    /// A single step ran: `{ "flow/module": {inputStates, outputStates, errors, state} }`.
    case stepped(flow: FlowID, result: JSONValue)
    case resumed(flow: FlowID)
    /// A hot swap applied a new version of a running flow.
    case swapped(flow: FlowID, revision: Int?, changed: [ModuleID], added: [ModuleID], removed: [ModuleID], moved: [ModuleID])
    /// A step of a dependency environment's build: an installer line, then ok or failed.
    case dependencies(EnvironmentProgress)

    /// The flow the event is about; nil for an install not made for a flow.
    public var flow: FlowID? {
        switch self {
        case .dependencies(let p): p.flow
        case .output(let f, _, _, _), .moduleError(let f, _, _), .log(let f, _, _, _),
             .flowState(let f, _, _), .instanceState(let f, _, _, _, _, _),
             .paused(let f, _, _, _), .stepped(let f, _), .resumed(let f), .swapped(let f, _, _, _, _, _): f
        }
    }
}

extension RunnerEvent {
    /// The event as a runner sends it to the dispatcher: a step's result bounded in depth
    /// (`JSONValue.boundedForTheDispatcher`; error payloads are bounded where they are recorded).
    public func boundedForTheDispatcher() -> RunnerEvent {
        if case .stepped(let flow, let result) = self { return .stepped(flow: flow, result: result.boundedForTheDispatcher) }
        return self
    }
}
