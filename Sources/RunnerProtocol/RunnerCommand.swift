import FlowModel

/// A command from the dispatcher to a runner, any runner (the embedded one
/// gets it as a value, a joined one as JSON): with what placement needs
/// (which modules of a flow this runner runs, at which generation, with
/// which state; where the others are). Sent as `{"t":"command","id":N,"command":{"op":...}}` and answered
/// by one `reply` with the same id.
public enum RunnerCommand: Sendable, Equatable {
    case listRuntimes
    case deploy(RemoteDeploy)
    /// The flow's modules on other runners moved: send to them there from now
    /// on (unacknowledged frames for a moved module go again, to its new place).
    case routes(flow: FlowID, routes: [RemoteRoute])
    /// Stop these modules now and drop every message held for them: this
    /// runner no longer owns them (a newer generation runs elsewhere).
    case fence([ModuleLease])
    /// A live move, step 2: finish the messages already queued for these
    /// modules, stop them, send their final `states`, then reply `ok`.
    case release([ModuleLease])
    case start(FlowID)
    case stop(FlowID)
    case remove(FlowID)
    /// `payload` is JSON text.
    case inject(flow: FlowID, module: ModuleID, port: PortName?, payload: String)
    case status(FlowID?)
    case setBreakpoint(flow: FlowID, Breakpoint)
    case removeBreakpoint(flow: FlowID, module: ModuleID)
    /// Hold the flow's modules on this runner (another runner of the flow hit a breakpoint).
    case pause(FlowID)
    case step(FlowID?)
    /// The first half of a step of a flow spread over runners: note which messages wait now; the
    /// next `step` runs only those (what another runner's step sends here waits for the step after).
    case markStep(FlowID?)
    case resume(FlowID)
    /// The runner's dependency environments (of one runtime, or all).
    case listEnvironments(RuntimeKind?)
    /// Builds the environment of a dependency list, unless it exists.
    case installEnvironment(RuntimeKind, dependencies: [String])
    /// Deletes an environment; refused while a deployed module uses it.
    case removeEnvironment(EnvironmentID)

    /// The `op` on the wire.
    public var op: String {
        switch self {
        case .listRuntimes: "listRuntimes"
        case .deploy: "deploy"
        case .routes: "routes"
        case .fence: "fence"
        case .release: "release"
        case .start: "start"
        case .stop: "stop"
        case .remove: "remove"
        case .inject: "inject"
        case .status: "status"
        case .setBreakpoint: "setBreakpoint"
        case .removeBreakpoint: "removeBreakpoint"
        case .pause: "pause"
        case .step: "step"
        case .markStep: "markStep"
        case .resume: "resume"
        case .listEnvironments: "listEnvironments"
        case .installEnvironment: "installEnvironment"
        case .removeEnvironment: "removeEnvironment"
        }
    }
}

/// `deploy` over the runner protocol: the whole flow document (so each runner
/// knows every module and connection), the modules this runner runs, and
/// where the others are.
public struct RemoteDeploy: Sendable, Equatable, Codable {
    public var flow: FlowDocument
    /// The modules of `flow` this runner runs; the others run elsewhere (`routes`) or are unplaced.
    public var placed: [PlacedModule]
    public var routes: [RemoteRoute]
    public var breakpoints: [Breakpoint]
    public var revision: Int?
    public var start: Bool
    /// The flow is paused on its other runners: a new part starts paused, holding
    /// every message (those parked for its modules included) until `resume` or `step`.
    public var paused: Bool
    /// Modules of `flow` that moved from a runner that is still connected and let them go
    /// drained (docs/runner-protocol.md, "Moves"): what this runner sent to their old place is
    /// acknowledged or refused there, never lost, so it is not sent again at once; new frames
    /// for them wait until that is settled.
    public var handedOver: [ModuleID]

    public init(flow: FlowDocument, placed: [PlacedModule], routes: [RemoteRoute] = [],
                breakpoints: [Breakpoint] = [], revision: Int? = nil, start: Bool = false, paused: Bool = false,
                handedOver: [ModuleID] = []) {
        self.flow = flow; self.placed = placed; self.routes = routes
        self.breakpoints = breakpoints; self.revision = revision; self.start = start; self.paused = paused
        self.handedOver = handedOver
    }

    enum CodingKeys: String, CodingKey { case flow, placed, routes, breakpoints, revision, start, paused, handedOver }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(flow, forKey: .flow)
        try c.encode(placed, forKey: .placed)
        try c.encode(routes, forKey: .routes)
        try c.encode(breakpoints, forKey: .breakpoints)
        try c.encodeIfPresent(revision, forKey: .revision)
        try c.encode(start, forKey: .start)
        if paused { try c.encode(true, forKey: .paused) }
        if !handedOver.isEmpty { try c.encode(handedOver, forKey: .handedOver) }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        flow = try c.decode(FlowDocument.self, forKey: .flow)
        placed = try c.decode([PlacedModule].self, forKey: .placed)
        routes = try c.decodeIfPresent([RemoteRoute].self, forKey: .routes) ?? []
        breakpoints = try c.decodeIfPresent([Breakpoint].self, forKey: .breakpoints) ?? []
        revision = try c.decodeIfPresent(Int.self, forKey: .revision)
        start = try c.decodeIfPresent(Bool.self, forKey: .start) ?? false
        paused = try c.decodeIfPresent(Bool.self, forKey: .paused) ?? false
        handedOver = try c.decodeIfPresent([ModuleID].self, forKey: .handedOver) ?? []
    }
}

/// A module a runner runs: its generation, and the `state` it starts with
/// when it comes from another runner (its last reported state), else none.
public struct PlacedModule: Sendable, Equatable, Codable {
    public var module: ModuleID
    public var gen: Int
    public var state: JSONValue?
    public init(module: ModuleID, gen: Int, state: JSONValue? = nil) { self.module = module; self.gen = gen; self.state = state }
}

/// Where a module of the flow that runs on another runner is: data frames
/// for it go to (`runner`, `session`) and carry `gen`.
public struct RemoteRoute: Sendable, Hashable, Codable {
    public var module: ModuleID
    public var runner: RunnerID
    public var session: Int
    public var gen: Int
    public init(module: ModuleID, runner: RunnerID, session: Int, gen: Int) {
        self.module = module; self.runner = runner; self.session = session; self.gen = gen
    }
}

extension RunnerCommand: Codable {
    enum CodingKeys: String, CodingKey {
        case op, deploy, flow, routes, modules, module, port, payload, breakpoint, runtime, dependencies, env
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let op = try c.decode(String.self, forKey: .op)
        switch op {
        case "listRuntimes": self = .listRuntimes
        case "deploy": self = .deploy(try c.decode(RemoteDeploy.self, forKey: .deploy))
        case "routes": self = .routes(flow: try c.decode(FlowID.self, forKey: .flow), routes: try c.decode([RemoteRoute].self, forKey: .routes))
        case "fence": self = .fence(try c.decode([ModuleLease].self, forKey: .modules))
        case "release": self = .release(try c.decode([ModuleLease].self, forKey: .modules))
        case "start": self = .start(try c.decode(FlowID.self, forKey: .flow))
        case "stop": self = .stop(try c.decode(FlowID.self, forKey: .flow))
        case "remove": self = .remove(try c.decode(FlowID.self, forKey: .flow))
        case "inject":
            self = .inject(flow: try c.decode(FlowID.self, forKey: .flow), module: try c.decode(ModuleID.self, forKey: .module),
                           port: try c.decodeIfPresent(PortName.self, forKey: .port), payload: try c.decode(String.self, forKey: .payload))
        case "status": self = .status(try c.decodeIfPresent(FlowID.self, forKey: .flow))
        case "setBreakpoint": self = .setBreakpoint(flow: try c.decode(FlowID.self, forKey: .flow), try c.decode(Breakpoint.self, forKey: .breakpoint))
        case "removeBreakpoint": self = .removeBreakpoint(flow: try c.decode(FlowID.self, forKey: .flow), module: try c.decode(ModuleID.self, forKey: .module))
        case "pause": self = .pause(try c.decode(FlowID.self, forKey: .flow))
        case "step": self = .step(try c.decodeIfPresent(FlowID.self, forKey: .flow))
        case "markStep": self = .markStep(try c.decodeIfPresent(FlowID.self, forKey: .flow))
        case "resume": self = .resume(try c.decode(FlowID.self, forKey: .flow))
        case "listEnvironments": self = .listEnvironments(try c.decodeIfPresent(RuntimeKind.self, forKey: .runtime))
        case "installEnvironment":
            self = .installEnvironment(try c.decode(RuntimeKind.self, forKey: .runtime), dependencies: try c.decode([String].self, forKey: .dependencies))
        case "removeEnvironment": self = .removeEnvironment(try c.decode(EnvironmentID.self, forKey: .env))
        default:
            throw RunnerProtocolError(.unknownType, "unknown command op \"\(op)\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(op, forKey: .op)
        switch self {
        case .listRuntimes: break
        case .deploy(let d): try c.encode(d, forKey: .deploy)
        case .routes(let flow, let routes): try c.encode(flow, forKey: .flow); try c.encode(routes, forKey: .routes)
        case .fence(let modules), .release(let modules): try c.encode(modules, forKey: .modules)
        case .start(let f), .stop(let f), .remove(let f), .pause(let f), .resume(let f): try c.encode(f, forKey: .flow)
        case .inject(let flow, let module, let port, let payload):
            try c.encode(flow, forKey: .flow); try c.encode(module, forKey: .module)
            try c.encodeIfPresent(port, forKey: .port); try c.encode(payload, forKey: .payload)
        case .status(let f), .step(let f), .markStep(let f): try c.encodeIfPresent(f, forKey: .flow)
        case .setBreakpoint(let flow, let bp): try c.encode(flow, forKey: .flow); try c.encode(bp, forKey: .breakpoint)
        case .removeBreakpoint(let flow, let module): try c.encode(flow, forKey: .flow); try c.encode(module, forKey: .module)
        case .listEnvironments(let runtime): try c.encodeIfPresent(runtime, forKey: .runtime)
        case .installEnvironment(let runtime, let dependencies): try c.encode(runtime, forKey: .runtime); try c.encode(dependencies, forKey: .dependencies)
        case .removeEnvironment(let id): try c.encode(id, forKey: .env)
        }
    }
}
