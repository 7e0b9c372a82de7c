import FlowModel
import RunnerHost
import RunnerProtocol
import Testing
@testable import Dispatcher

/// After a dispatcher restart: adopt what the runners report; and the
/// changes between two placements.
@Suite struct PlacementAdoptTests {
    func lease(_ m: String, _ gen: Int) -> ModuleLease { ModuleLease(flow: FlowID("orders"), module: ModuleID(m), gen: gen) }
    func key(_ m: String) -> FlowModuleID { FlowModuleID(flow: FlowID("orders"), module: ModuleID(m)) }

    @Test func reportedModulesStayWhereTheyRunAndKeepTheirGenerations() {
        let adopted = Placement.adopt([RunnerID("a"): [lease("p", 4)], RunnerID("b"): [lease("n", 2)]])
        let modules = [PlacementModule(flow: FlowID("orders"), module: ModuleID("p"), runtime: .python3),
                       PlacementModule(flow: FlowID("orders"), module: ModuleID("n"), runtime: .node)]
        let runners = [PlacementRunner(id: RunnerID("a"), runtimes: [.python3, .node]), PlacementRunner(id: RunnerID("b"), runtimes: [.python3, .node])]
        let placed = Placement.place(modules, on: runners, current: adopted)
        #expect(placed[key("p")] == .placed(RunnerID("a"), gen: 4))
        #expect(placed[key("n")] == .placed(RunnerID("b"), gen: 2))
    }

    @Test func aModuleReportedTwiceGoesToTheHigherGenerationAndTheOtherDropsIt() {
        let adopted = Placement.adopt([RunnerID("old"): [lease("p", 3)], RunnerID("new"): [lease("p", 4)]])
        #expect(adopted[key("p")] == .placed(RunnerID("new"), gen: 4))
        let hello = RunnerHello(name: RunnerID("old"), instance: "i", runtimes: [.init(id: .python3, name: "CPython", version: "3")], modules: [lease("p", 3)])
        #expect(RunnerAdmission.decide(hello, token: nil, authenticatedAtUpgrade: false, holder: nil, placement: adopted)
                == .welcome(drop: [lease("p", 3)], replacing: false))
        let tie = Placement.adopt([RunnerID("b"): [lease("q", 2)], RunnerID("a"): [lease("q", 2)]])
        #expect(tie[key("q")] == .placed(RunnerID("a"), gen: 2))
    }

    @Test func movesListWhatChanged() {
        let old: [FlowModuleID: ModulePlacement] = [key("a"): .placed(RunnerID("x"), gen: 1), key("b"): .placed(RunnerID("x"), gen: 1),
                                                   key("gone"): .placed(RunnerID("y"), gen: 2)]
        let new: [FlowModuleID: ModulePlacement] = [key("a"): .placed(RunnerID("x"), gen: 1), key("b"): .placed(RunnerID("z"), gen: 2),
                                                   key("c"): .unplaced(.noRunnerWithRuntime(.browser), gen: 0), key("d"): .placed(RunnerID("x"), gen: 1)]
        #expect(Placement.moves(from: old, to: new) == [
            PlacementMove(module: key("b"), from: RunnerID("x"), to: RunnerID("z"), gen: 2),
            PlacementMove(module: key("c"), from: nil, to: nil, gen: 0),
            PlacementMove(module: key("d"), from: nil, to: RunnerID("x"), gen: 1),
            PlacementMove(module: key("gone"), from: RunnerID("y"), to: nil, gen: 2),
        ])
    }
}
