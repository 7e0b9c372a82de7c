import FlowModel
import RunnerProtocol
import Testing
@testable import Dispatcher

/// Placement as a pure function: runtime, required and preferred tags, groups,
/// load, stability and generations.
@Suite struct PlacementTests {
    let flow = FlowID("orders")

    func module(_ id: String, _ runtime: RuntimeKind, tags: Set<String> = [], require: Set<String> = [], flow: String = "orders") -> PlacementModule {
        PlacementModule(flow: FlowID(flow), module: ModuleID(id), runtime: runtime, tags: tags, requireTags: require)
    }

    func runner(_ id: String, _ runtimes: Set<RuntimeKind> = [.python3, .node], tags: Set<String> = [], state: RunnerState = .live, load: Int = 0) -> PlacementRunner {
        PlacementRunner(id: RunnerID(id), runtimes: runtimes, tags: tags, state: state, load: load)
    }

    func key(_ m: String, flow: String = "orders") -> FlowModuleID { FlowModuleID(flow: FlowID(flow), module: ModuleID(m)) }

    @Test func aModuleGoesToARunnerWithItsRuntime() {
        let placed = Placement.place([module("p", .python3), module("n", .node)],
                                     on: [runner("py", [.python3]), runner("js", [.node])])
        #expect(placed[key("p")] == .placed(RunnerID("py"), gen: 1))
        #expect(placed[key("n")] == .placed(RunnerID("js"), gen: 1))
    }

    @Test func noRunnerWithTheRuntimeLeavesItUnplacedWithTheReason() {
        let placed = Placement.place([module("draw", .browser)], on: [runner("a")])
        #expect(placed[key("draw")] == .unplaced(.noRunnerWithRuntime(.browser), gen: 0))
        #expect(placed[key("draw")].map { "\($0)" } != nil)
        #expect(UnplacedReason.noRunnerWithRuntime(.browser).description.contains("browser runner page"))
    }

    @Test func requireTagsMustAllMatch() {
        let m = module("train", .python3, require: ["gpu", "cuda"])
        let some = Placement.place([m], on: [runner("a", tags: ["gpu"]), runner("b", tags: ["cuda"])])
        #expect(some[key("train")] == .unplaced(.noRunnerWithRequiredTags(.python3, ["cuda", "gpu"]), gen: 0))
        #expect(UnplacedReason.noRunnerWithRequiredTags(.python3, ["cuda", "gpu"]).description.contains("--tags cuda,gpu"))
        let all = Placement.place([m], on: [runner("a", tags: ["gpu"]), runner("c", tags: ["gpu", "cuda", "eu"])])
        #expect(all[key("train")] == .placed(RunnerID("c"), gen: 1))
    }

    @Test func anUnplacedModuleIsPlacedWhenASuitableRunnerJoins() {
        let m = module("train", .python3, require: ["gpu"])
        let before = Placement.place([m], on: [runner("a")])
        #expect(before[key("train")]?.runner == nil)
        let after = Placement.place([m], on: [runner("a"), runner("g", tags: ["gpu"])], current: before)
        #expect(after[key("train")] == .placed(RunnerID("g"), gen: 1))
    }

    @Test func preferredTagsComeFirstElseAnyRunnerWithTheRuntime() {
        let m = module("render", .node, tags: ["gpu"])
        let preferred = Placement.place([m], on: [runner("a"), runner("g", tags: ["gpu"], load: 50)])
        #expect(preferred[key("render")]?.runner == RunnerID("g"), "a preferred runner wins even when busier")
        let fallback = Placement.place([m], on: [runner("a", load: 3), runner("b", load: 1)])
        #expect(fallback[key("render")]?.runner == RunnerID("b"), "no runner has the tag: the least loaded with the runtime")
    }

    @Test func theLeastLoadedCandidateWinsAndTiesGoToTheSmallestID() {
        let placed = Placement.place([module("x", .python3)], on: [runner("c", load: 2), runner("b", load: 1), runner("a", load: 1)])
        #expect(placed[key("x")]?.runner == RunnerID("a"))
    }

    @Test func modulesOfOneFlowOnOneRuntimeStayTogether() {
        let modules = (0..<6).map { module("p\($0)", .python3) } + [module("n", .node)]
        let placed = Placement.place(modules, on: [runner("a"), runner("b"), runner("c")])
        let pythonRunners = Set((0..<6).compactMap { placed[key("p\($0)")]?.runner })
        #expect(pythonRunners.count == 1, "one runner for the flow's python modules: \(pythonRunners)")
        #expect(placed[key("n")]?.runner != pythonRunners.first, "the node group goes to a less loaded runner")
    }

    @Test func tagsSplitAGroupAndTheRestPrefersTheRunnerAlreadyHostingTheFlow() {
        let modules = [module("a", .python3), module("b", .python3, tags: ["gpu"]), module("c", .python3)]
        let placed = Placement.place(modules, on: [runner("cpu"), runner("gpu", tags: ["gpu"], load: 0)])
        #expect(placed[key("b")]?.runner == RunnerID("gpu"))
        #expect(placed[key("a")]?.runner == placed[key("c")]?.runner)
    }

    @Test func differentFlowsSpreadByLoad() {
        let modules = ["f1", "f2", "f3", "f4"].map { module("m", .python3, flow: $0) }
        let placed = Placement.place(modules, on: [runner("a"), runner("b")])
        let counts = Dictionary(grouping: ["f1", "f2", "f3", "f4"], by: { placed[key("m", flow: $0)]!.runner! }).mapValues(\.count)
        #expect(counts == [RunnerID("a"): 2, RunnerID("b"): 2])
    }

    @Test func replacementIsStableWhenNothingMustMove() {
        let modules = [module("p", .python3), module("n", .node), module("q", .python3, flow: "other")]
        let runners = [runner("a"), runner("b")]
        let first = Placement.place(modules, on: runners)
        // A new, idle runner joins and loads change: nothing moves, no generation changes.
        let second = Placement.place(modules, on: [runner("a", load: 40), runner("b", load: 40), runner("c")], current: first)
        #expect(second == first)
    }

    @Test func aLostRunnersModulesMoveWithANewGenerationAndTheOthersStay() {
        let modules = [module("p", .python3), module("n", .node)]
        let first = Placement.place(modules, on: [runner("a", [.python3]), runner("b", [.node]), runner("c")])
        #expect(first[key("p")] == .placed(RunnerID("a"), gen: 1))
        let second = Placement.place(modules, on: [runner("a", [.python3], state: .lost), runner("b", [.node]), runner("c")], current: first)
        #expect(second[key("p")] == .placed(RunnerID("c"), gen: 2))
        #expect(second[key("n")] == first[key("n")])
        // Lost again, with nowhere to go: unplaced, keeping its generation; placed again later as gen 3.
        let third = Placement.place(modules, on: [runner("b", [.node])], current: second)
        #expect(third[key("p")] == .unplaced(.noRunnerWithRuntime(.python3), gen: 2))
        let fourth = Placement.place(modules, on: [runner("b", [.node]), runner("a", [.python3])], current: third)
        #expect(fourth[key("p")] == .placed(RunnerID("a"), gen: 3))
    }

    @Test func aSuspectRunnerKeepsItsModulesButTakesNoNewOnes() {
        let first = Placement.place([module("p", .python3)], on: [runner("a")])
        let kept = Placement.place([module("p", .python3), module("q", .python3, flow: "new")],
                                   on: [runner("a", state: .suspect), runner("b", load: 10)], current: first)
        #expect(kept[key("p")] == .placed(RunnerID("a"), gen: 1))
        #expect(kept[key("q", flow: "new")]?.runner == RunnerID("b"))
        let none = Placement.place([module("q", .python3, flow: "new")], on: [runner("a", state: .suspect), runner("j", state: .joining)])
        #expect(none[key("q", flow: "new")] == .unplaced(.noLiveRunner(.python3, [RunnerID("a"), RunnerID("j")]), gen: 0))
    }

    @Test func aModuleOnAFallbackRunnerMovesWhenAPreferredRunnerJoins() {
        let m = module("render", .node, tags: ["gpu"])
        let fallback = Placement.place([m], on: [runner("a")])
        #expect(fallback[key("render")] == .placed(RunnerID("a"), gen: 1))
        let moved = Placement.place([m], on: [runner("a"), runner("g", tags: ["gpu"])], current: fallback)
        #expect(moved[key("render")] == .placed(RunnerID("g"), gen: 2))
    }

    @Test func changedTagsMoveOnlyTheChangedModule() {
        let before = [module("a", .python3), module("b", .python3)]
        let runners = [runner("cpu"), runner("gpu", tags: ["gpu"], load: 5)]
        let first = Placement.place(before, on: runners)
        #expect(first[key("a")]?.runner == RunnerID("cpu"))
        let after = [module("a", .python3), module("b", .python3, tags: ["gpu"])]
        let second = Placement.place(after, on: runners, current: first)
        #expect(second[key("a")] == first[key("a")])
        #expect(second[key("b")] == .placed(RunnerID("gpu"), gen: 2))
    }

    @Test func aRunnerThatLostTheRuntimeOrTheRequiredTagGivesUpItsModules() {
        let m = module("train", .python3, require: ["gpu"])
        let first = Placement.place([m], on: [runner("g", tags: ["gpu"]), runner("h", tags: ["gpu"], load: 1)])
        #expect(first[key("train")]?.runner == RunnerID("g"))
        // "g" came back (a new session) without the tag.
        let second = Placement.place([m], on: [runner("g"), runner("h", tags: ["gpu"], load: 1)], current: first)
        #expect(second[key("train")] == .placed(RunnerID("h"), gen: 2))
    }

    @Test func removedModulesAreForgotten() {
        let first = Placement.place([module("a", .python3), module("b", .python3)], on: [runner("x")])
        let second = Placement.place([module("a", .python3)], on: [runner("x")], current: first)
        #expect(second.keys.map(\.description) == ["orders/a"])
    }

    @Test func modulesOfAFlowDocumentKeepTheirTags() {
        let doc = FlowDocument(id: flow, modules: [ModuleSpec(id: ModuleID("m"), runtime: .node, code: "x", tags: ["t"], requireTags: ["r"])], connections: [])
        #expect(PlacementModule.modules(of: doc) == [PlacementModule(flow: flow, module: ModuleID("m"), runtime: .node, tags: ["t"], requireTags: ["r"])])
    }
}
