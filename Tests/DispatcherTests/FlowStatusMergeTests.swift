import FlowModel
import RunnerHost
import RunnerProtocol
import Testing
@testable import Dispatcher

/// One flow's status from its runners' parts: modules that run nowhere, and
/// modules whose runner does not answer, still show, with why.
@Suite struct FlowStatusMergeTests {
    let flow = FlowDocument(id: FlowID("span"), modules: [
        ModuleSpec(id: ModuleID("gen"), runtime: .python3, code: "x"),
        ModuleSpec(id: ModuleID("mid"), runtime: .node, code: "x"),
        ModuleSpec(id: ModuleID("draw"), runtime: .browser, code: "x"),
    ], connections: [])

    func key(_ m: String) -> FlowModuleID { FlowModuleID(flow: FlowID("span"), module: ModuleID(m)) }

    @Test func aModuleOnARunnerThatDoesNotAnswerIsUnreachableWithItsLastSavedState() throws {
        let gen = ModuleStatus.unplaced(ModuleID("gen"), runtime: .python3, reason: "x")  // stands for any reported module
        var local = FlowRunStatus(flow: FlowID("span"), state: .running, reason: nil, instances: [], modules: [gen])
        local.modules[0].state = .running
        let placement: [FlowModuleID: ModulePlacement] = [
            key("gen"): .placed(RunnerID("local"), gen: 1),
            key("mid"): .placed(RunnerID("gpu-1"), gen: 2),
            key("draw"): .unplaced(.noRunnerWithRuntime(.browser), gen: 0),
        ]
        let merged = FlowStatusMerge.merge(flow: flow, parts: [local], placement: placement,
                                           unreachable: [RunnerID("gpu-1"): "runner gpu-1 is suspect"],
                                           savedStates: [ModuleID("mid"): ["n": 41]])
        #expect(merged.modules.map(\.id.rawValue) == ["gen", "mid", "draw"])
        let mid = try #require(merged.modules.first { $0.id == ModuleID("mid") })
        #expect(mid.state == .unreachable)
        #expect(mid.runner == "gpu-1")
        #expect(mid.unreachableReason == "runner gpu-1 is suspect")
        #expect(mid.moduleState == ["n": 41])
        #expect(merged.modules.first { $0.id == ModuleID("draw") }?.state == .unplaced)
        #expect(merged.state == .degraded)
        #expect(merged.reason?.contains("module mid is on runner gpu-1, which does not answer") == true, "\(String(describing: merged.reason))")
    }

    @Test func aRunnerGoneBeforeItsModulesArePlacedAgainIsSaidSo() throws {
        let merged = FlowStatusMerge.merge(flow: flow, parts: [], placement: [key("mid"): .placed(RunnerID("gpu-1"), gen: 2)])
        let mid = try #require(merged.modules.first)
        #expect(mid.state == .unreachable)
        #expect(mid.unreachableReason?.contains("not connected") == true)
    }
}
