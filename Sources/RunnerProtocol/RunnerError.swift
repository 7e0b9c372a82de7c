import FlowModel

/// Why the runner refused or failed a request: a stable code, the place, and what to do.
public enum RunnerError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownFlow(FlowID)
    case unknownModule(FlowID, ModuleID, known: [String])
    case unknownPort(FlowModuleID, PortName, known: [String])
    case runtimeUnavailable(module: FlowModuleID, runtime: RuntimeKind, available: [RuntimeKind])
    /// `updating`: the flow was deployed already and keeps its running version.
    case loadErrors(flow: FlowID, [LoadError], updating: Bool = false)
    case runtimeFailed(flow: FlowID, runtime: RuntimeKind, reason: String)
    case notRunning(FlowID)
    case saturated(FlowModuleID)
    case payloadTooLarge(FlowModuleID, bytes: Int, limit: Int)
    case stepTimedOut(flow: FlowID, runtimes: [String])
    case swapTimedOut(flow: FlowID)
    case badCondition(FlowModuleID, String)
    case stopped(flow: FlowID)

    public struct LoadError: Sendable, Equatable, Codable {
        public var module: ModuleID
        public var runtime: RuntimeKind
        public var error: String
        public var line: Int?

        public init(module: ModuleID, runtime: RuntimeKind, error: String, line: Int?) {
            self.module = module; self.runtime = runtime; self.error = error; self.line = line
        }
    }

    public var code: ReplyCode {
        switch self {
        case .unknownFlow: .unknownFlow
        case .unknownModule: .unknownModule
        case .unknownPort: .unknownPort
        case .runtimeUnavailable: .runtimeUnavailable
        case .loadErrors: .loadError
        case .runtimeFailed: .runtimeFailed
        case .notRunning: .flowNotRunning
        case .saturated: .saturated
        case .payloadTooLarge: .payloadTooLarge
        case .stepTimedOut: .stepTimedOut
        case .swapTimedOut: .swapTimedOut
        case .badCondition: .badCondition
        case .stopped: .stopped
        }
    }

    public var description: String {
        switch self {
        case .unknownFlow(let f):
            "no flow \"\(f)\": deploy it with addOrUpdateFlow, or see listFlows"
        case .unknownModule(let f, let m, let known):
            "flow \"\(f)\" has no module \"\(m)\"\(DidYouMean.hint(for: m.rawValue, among: known)); its modules: \(known.joined(separator: ", "))"
        case .unknownPort(let fm, let p, let known):
            "module \"\(fm)\" has no input port \"\(p)\"\(DidYouMean.hint(for: p.rawValue, among: known)); its inputs: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
        case .runtimeUnavailable(let m, let r, let available):
            r == .browser
                ? "module \"\(m)\" needs a browser runner, and none is connected: open the dispatcher's page in a browser, or move the module to python3 or node"
                : "module \"\(m)\" needs runtime \"\(r.rawValue)\", which is not installed on this runner (not found on PATH); available: \(available.map(\.rawValue).joined(separator: ", "))"
        case .loadErrors(let f, let errors, let updating):
            "flow \"\(f)\" \(updating ? "not updated (the deployed version is unchanged)" : "not deployed"): " + errors.map { e in
                "module \"\(e.module)\" (\(e.runtime.rawValue)) does not load\(e.line.map { " at line \($0)" } ?? ""): \(e.error)"
            }.joined(separator: "; ")
        case .runtimeFailed(let f, let r, let reason):
            "flow \"\(f)\": the \(r.rawValue) runtime failed: \(reason)"
        case .notRunning(let f):
            "flow \"\(f)\" is not running: start it with startFlow"
        case .saturated(let fm):
            "module \"\(fm)\" has too many queued messages: the message was refused, retry later"
        case .payloadTooLarge(let fm, let bytes, let limit):
            "payload for \"\(fm)\" is \(bytes) bytes, over the frame limit of \(limit) bytes: send smaller messages (or pass a reference to the data)"
        case .stepTimedOut(let f, let runtimes):
            "flow \"\(f)\": the \(runtimes.joined(separator: " and ")) runtime did not finish its messages in time; the flow stays paused: see status, then step or resume again"
        case .swapTimedOut(let f):
            "flow \"\(f)\" not updated: its runtimes did not finish their messages within 30 s (a handler that does not return?); the old version goes on: see status"
        case .badCondition(let fm, let why):
            "breakpoint at \"\(fm)\": \(why)"
        case .stopped(let f):
            "flow \"\(f)\" was stopped"
        }
    }
}
