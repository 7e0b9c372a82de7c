/// A control frame from the host to a runtime (docs/protocol.md): every kind the host
/// writes, one case each, written by one encoder (`PipeBridge.FrameEncoder.write(_:into:)`).
public enum HostMessage: Sendable, Equatable {
    /// The instance's modules, slots and routes, once after `hello`.
    case configure(Configure)
    /// New modules and tables for a running instance (a hot swap).
    case swap(Swap)
    /// Finish what is queued, then exit.
    case stop
    /// Send every module's state and recent errors now.
    case report
    /// How the runtime routes between its own modules: directly, or every message through the host (debugging).
    case mode(Routing)

    public enum Routing: String, Sendable, Equatable {
        case direct, host
    }

    public struct Configure: Sendable, Equatable, Encodable {
        public var t = "configure"
        public var flowId: FlowID
        public var modules: [Module]
        public var slots: [[String]]
        public var routes: [Route]

        /// One module to load, in `configure` and in `swap`.
        public struct Module: Sendable, Equatable, Encodable {
            public var id: ModuleID
            public var code: String
            public var config: JSONValue
            public var inputs: [PortName]
            public var outputs: [PortName]
            public var state: JSONValue?
            public var `init`: Bool
            /// Only in `swap`: the module replaces one (here or moved from another runtime), so its state is kept and `on_swap` runs.
            public var swap: Bool? = nil

            public func encode(to encoder: any Encoder) throws {
                enum K: String, CodingKey { case id, code, config, inputs, outputs, state, `init`, swap }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(id, forKey: .id)
                try c.encode(code, forKey: .code)
                try c.encode(config, forKey: .config)
                try c.encode(inputs, forKey: .inputs)
                try c.encode(outputs, forKey: .outputs)
                try c.encode(state, forKey: .state)  // explicit null: {} in configure, keep the current state in swap
                try c.encode(`init`, forKey: .`init`)
                try c.encodeIfPresent(swap, forKey: .swap)
            }
        }

        public struct Route: Sendable, Equatable, Encodable {
            public var module: ModuleID
            public var port: PortName
            public var local: [[String]]
            public var remote: Int?
            /// Route to every target through the host (debug routing).
            public var all: Int

            public func encode(to encoder: any Encoder) throws {
                enum K: String, CodingKey { case module, port, local, remote, all }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(module, forKey: .module)
                try c.encode(port, forKey: .port)
                try c.encode(local, forKey: .local)
                try c.encode(remote, forKey: .remote)  // explicit null
                try c.encode(all, forKey: .all)
            }
        }

        /// The configure frame for one instance of a plan; `states` are the modules' saved states.
        public init(flow: FlowID, instance: InstancePlan, states: [ModuleID: JSONValue], runInit: Set<ModuleID>) {
            flowId = flow
            modules = instance.modules.map { m in
                Module(id: m.id, code: m.code ?? "", config: m.config, inputs: m.inputs, outputs: m.outputs,
                       state: states[m.id], init: runInit.contains(m.id))
            }
            slots = instance.slots.map { [$0.module.rawValue, $0.port.rawValue] }
            routes = instance.outputRoutes.map { r in
                Route(module: r.source.module, port: r.source.port,
                      local: r.local.map { [$0.module.rawValue, $0.port.rawValue] }, remote: r.remoteRoute, all: r.allRoute)
            }
        }
    }
}

extension HostMessage {
    /// `swap`: new modules and tables for a running instance (docs/protocol.md, "Hot swap").
    public struct Swap: Sendable, Equatable, Encodable {
        public var t = "swap"
        public var modules: [Configure.Module]
        public var remove: [ModuleID]
        public var slots: [[String]]
        public var routes: [Configure.Route]

        /// - Parameters:
        ///   - load: the modules of `instance` to (re)load now.
        ///   - states: states of modules that move here from another runtime.
        ///   - runInit: modules new to the flow (their `init` runs).
        public init(flow: FlowID, instance: InstancePlan, load: [ModuleID], remove: [ModuleID],
                    states: [ModuleID: JSONValue], runInit: Set<ModuleID>) {
            let configure = Configure(flow: flow, instance: instance, states: [:], runInit: [])
            modules = instance.modules.filter { load.contains($0.id) }.map { m in
                Configure.Module(id: m.id, code: m.code ?? "", config: m.config, inputs: m.inputs, outputs: m.outputs,
                                 state: states[m.id], init: runInit.contains(m.id), swap: !runInit.contains(m.id))
            }
            self.remove = remove
            slots = configure.slots
            routes = configure.routes
        }
    }
}
