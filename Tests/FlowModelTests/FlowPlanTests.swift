import Foundation
import Testing
@testable import FlowModel

/// The routing tables each runtime instance gets: local targets are direct
/// calls, everything else a compact host route id.
@Suite struct FlowPlanTests {
    let flow = try! FlowValidator().validate(Data("""
    {"id": "fan", "modules": [
       {"id": "source", "runtime": "python3", "code": "x"},
       {"id": "double", "runtime": "node", "code": "x"},
       {"id": "square", "runtime": "python3", "code": "x"},
       {"id": "collect", "runtime": "node", "code": "x", "inputs": ["in", "extra"]}],
     "connections": [
       {"from": "source.out", "to": "double.in"}, {"from": "source.out", "to": "square.in"},
       {"from": "double.out", "to": "collect.in"}, {"from": "square.out", "to": "collect.in"}]}
    """.utf8))

    @Test func modulesOnACycleThroughAnotherRunnerAreFound() {
        // source → double (elsewhere) → collect: source and collect here.
        let here: Set<ModuleID> = [ModuleID("source"), ModuleID("collect"), ModuleID("square")]
        #expect(flow.modulesOnCrossRunnerCycles(placed: here) == [ModuleID("source")])
        // Everything here, or the way back leads nowhere here: no such cycle.
        #expect(flow.modulesOnCrossRunnerCycles(placed: Set(flow.modules.map(\.id))).isEmpty)
        #expect(flow.modulesOnCrossRunnerCycles(placed: [ModuleID("source")]).isEmpty)
    }

    @Test func oneInstancePerRuntime() {
        let plan = FlowPlan(flow: flow)
        #expect(plan.instances.map(\.runtime) == [.node, .python3])
        #expect(plan.instances[0].modules.map(\.id.rawValue) == ["double", "collect"])
        #expect(plan.instances[1].modules.map(\.id.rawValue) == ["source", "square"])
    }

    @Test func slotsNumberInputsPerInstance() {
        let plan = FlowPlan(flow: flow)
        #expect(plan.instances[0].slots.map(\.description) == ["double.in", "collect.in", "collect.extra"])
        let extra = plan.inputSlot(module: ModuleID("collect"), port: PortName("extra"))
        #expect(extra?.instance == 0 && extra?.slot == 2)
        let square = plan.inputSlot(module: ModuleID("square"), port: PortName("in"))
        #expect(square?.instance == 1 && square?.slot == 1)
        #expect(plan.inputSlot(module: ModuleID("square"), port: PortName("nope")) == nil)
        #expect(plan.instanceIndex(of: ModuleID("source")) == 1)
    }

    @Test func fanOutSplitsLocalAndRemote() throws {
        let plan = FlowPlan(flow: flow)
        let py = plan.instances[1]
        let source = try #require(py.outputRoutes.first { $0.source.description == "source.out" })
        #expect(source.local.map(\.description) == ["square.in"])
        let route = try #require(source.remoteRoute)
        #expect(py.hostRoutes[route].targets == [RouteTarget(instance: 0, slot: 0)])
        #expect(!py.hostRoutes[route].isFlowOutput)
    }

    @Test func crossRuntimeFanIn() throws {
        let plan = FlowPlan(flow: flow)
        let square = try #require(plan.instances[1].outputRoutes.first { $0.source.description == "square.out" })
        #expect(square.local.isEmpty)
        #expect(plan.instances[1].hostRoutes[try #require(square.remoteRoute)].targets == [RouteTarget(instance: 0, slot: 1)])
        let double = try #require(plan.instances[0].outputRoutes.first { $0.source.description == "double.out" })
        #expect(double.local.map(\.description) == ["collect.in"])
        #expect(double.remoteRoute == nil, "a purely local output needs no host route")
    }

    @Test func unconnectedOutputIsFlowOutput() throws {
        let plan = FlowPlan(flow: flow)
        let collect = try #require(plan.instances[0].outputRoutes.first { $0.source.description == "collect.out" })
        let route = try #require(collect.remoteRoute)
        #expect(plan.instances[0].hostRoutes[route].isFlowOutput)
        #expect(plan.instances[0].hostRoutes[route].targets.isEmpty)
    }
}

extension FlowPlanTests {
    @Test func allRouteReachesEveryTargetThroughTheHost() throws {
        let plan = FlowPlan(flow: flow)
        let py = plan.instances[1]
        let source = try #require(py.outputRoutes.first { $0.source.description == "source.out" })
        #expect(source.allRoute != source.remoteRoute, "a port with a local target gets its own all-route")
        #expect(Set(py.hostRoutes[source.allRoute].targets) == [RouteTarget(instance: 0, slot: 0), RouteTarget(instance: 1, slot: 1)])
        let square = try #require(py.outputRoutes.first { $0.source.description == "square.out" })
        #expect(square.allRoute == square.remoteRoute, "no local target: the remote route is the all-route")
        let collect = try #require(plan.instances[0].outputRoutes.first { $0.source.description == "collect.out" })
        #expect(plan.instances[0].hostRoutes[collect.allRoute].isFlowOutput)
    }
}
