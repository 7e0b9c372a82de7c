/// Where each module of a flow runs and how its messages travel: one runtime
/// instance per `InstanceKey` used by the flow (runtime kind and dependency
/// environment), integer input slots per
/// instance, and per output port the in-instance targets plus a host route id
/// for everything else. Names are resolved here, once; the data path uses
/// only the integers.
///
/// A connection whose target module is not in `flow` (it runs on another
/// runner: see `FlowDocument.restricted(to:)`) becomes a remote target of the
/// host route: the host sends those messages across runners by name.
public struct FlowPlan: Sendable, Equatable {
    public let flow: FlowDocument
    public let instances: [InstancePlan]

    public init(flow: FlowDocument) {
        self.flow = flow
        let keys = Array(Set(flow.modules.map(\.instanceKey))).sorted()
        var instanceOf: [ModuleID: Int] = [:]
        var slotOf: [Endpoint: Int] = [:]
        var plans: [InstancePlan] = keys.map { key in
            InstancePlan(key: key, modules: flow.modules.filter { $0.instanceKey == key })
        }
        for (i, plan) in plans.enumerated() {
            for m in plan.modules {
                instanceOf[m.id] = i
                for port in m.inputs {
                    let endpoint = Endpoint(module: m.id, port: port)
                    slotOf[endpoint] = plans[i].slots.count
                    plans[i].slots.append(endpoint)
                }
            }
        }
        for i in plans.indices {
            for m in plans[i].modules {
                for port in m.outputs {
                    let source = Endpoint(module: m.id, port: port)
                    let targets = flow.connections.filter { $0.from == source }.map(\.to)
                    var local: [Endpoint] = []
                    var remote: [RouteTarget] = []
                    var elsewhere: [Endpoint] = []
                    for t in targets {
                        guard let ti = instanceOf[t.module] else { elsewhere.append(t); continue }
                        guard let slot = slotOf[t] else { continue }
                        if ti == i { local.append(t) } else { remote.append(RouteTarget(instance: ti, slot: slot)) }
                    }
                    var routeID: Int?
                    if !remote.isEmpty || !elsewhere.isEmpty || targets.isEmpty {
                        routeID = plans[i].hostRoutes.count
                        plans[i].hostRoutes.append(HostRoute(source: source, targets: remote, elsewhere: elsewhere, isFlowOutput: targets.isEmpty))
                    }
                    // Debug routing: one route through the host to every target, local ones included.
                    var allID = routeID ?? -1
                    if !local.isEmpty {
                        allID = plans[i].hostRoutes.count
                        let everyTarget = targets.compactMap { t in slotOf[t].map { RouteTarget(instance: instanceOf[t.module]!, slot: $0) } }
                        plans[i].hostRoutes.append(HostRoute(source: source, targets: everyTarget, elsewhere: elsewhere, isFlowOutput: false))
                    }
                    plans[i].outputRoutes.append(OutputRoute(source: source, local: local, remoteRoute: routeID, allRoute: allID))
                }
            }
        }
        self.instances = plans
    }

    /// The instance and input slot that receive messages for `module.port`.
    public func inputSlot(module: ModuleID, port: PortName) -> (instance: Int, slot: Int)? {
        for (i, plan) in instances.enumerated() {
            if let s = plan.slots.firstIndex(of: Endpoint(module: module, port: port)) { return (i, s) }
        }
        return nil
    }

    public func instanceIndex(of module: ModuleID) -> Int? {
        instances.firstIndex { $0.modules.contains { $0.id == module } }
    }
}

/// The modules of one flow that share one runtime instance, with their slots and routes.
public struct InstancePlan: Sendable, Equatable {
    /// Runtime and dependency environment: what tells this instance from the flow's others.
    public let key: InstanceKey
    public var runtime: RuntimeKind { key.runtime }
    public let modules: [ModuleSpec]
    /// Input slot `i` is `slots[i]`.
    public internal(set) var slots: [Endpoint] = []
    /// One entry per output port of each hosted module.
    public internal(set) var outputRoutes: [OutputRoute] = []
    /// Route id `r` (on data frames from this instance) is `hostRoutes[r]`.
    public internal(set) var hostRoutes: [HostRoute] = []

    init(key: InstanceKey, modules: [ModuleSpec]) { self.key = key; self.modules = modules }
}

/// An output port's targets as its runtime sees them.
public struct OutputRoute: Sendable, Equatable {
    public let source: Endpoint
    public let local: [Endpoint]
    public let remoteRoute: Int?
    /// The host route to every target, local ones included: what the runtime
    /// uses while the debugger has the flow (`{"t":"mode","via":"host"}`).
    public let allRoute: Int
}

/// What the host does with a data frame carrying one route id.
public struct HostRoute: Sendable, Equatable {
    public let source: Endpoint
    public let targets: [RouteTarget]
    /// Targets on other runners (their modules are not in this plan's flow).
    public let elsewhere: [Endpoint]
    /// The port is connected to nothing: its messages are flow outputs.
    public let isFlowOutput: Bool

    public init(source: Endpoint, targets: [RouteTarget], elsewhere: [Endpoint] = [], isFlowOutput: Bool) {
        self.source = source; self.targets = targets; self.elsewhere = elsewhere; self.isFlowOutput = isFlowOutput
    }
}

public struct RouteTarget: Sendable, Equatable, Hashable {
    public let instance: Int
    public let slot: Int
}
