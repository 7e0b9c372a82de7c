/// A control frame from the host to a runtime.
public enum HostMessage: Sendable, Equatable {
    case configure(Configure)
    case stop

    public struct Configure: Sendable, Equatable, Encodable {
        public var t = "configure"
        public var flowId: FlowID
        public var modules: [Module]
        public var slots: [[String]]
        public var routes: [Route]

        public struct Module: Sendable, Equatable, Encodable {
            public var id: ModuleID
            public var code: String
            public var config: JSONValue
            public var inputs: [PortName]
            public var outputs: [PortName]
            public var state: JSONValue?
            public var `init`: Bool
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
