import FlowModel
import Foundation
import RunnerProtocol
import Testing
@testable import RunnerHost

/// A hot swap's plan on one runner against every case of the shared vectors
/// (Tests/Fixtures/vectors/swap-plan.json), which the browser runner's
/// `swap_plan.js` passes too: `FlowDiff` of the flow restricted to the
/// modules placed here, `FlowRun.runtimeChanges` for whether the instance
/// needs a swap, and the `swap` frame as `FlowRun.swap` has
/// `RuntimeInstance.swap` build it.
@Suite struct SwapPlanVectorTests {
    static let vectors: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/vectors/swap-plan.json").standardized
        return try! JSONValue(parsing: Data(contentsOf: url))
    }()

    /// The flow as a runner that runs `placed` (all when nil) gets it from `RunnerHost.deploy`.
    static func restricted(_ flow: JSONValue?, placed: JSONValue?) throws -> FlowDocument {
        let full = try FlowValidator().validate(flow ?? .null)
        let ids = placed?.arrayValue?.compactMap(\.stringValue) ?? full.modules.map(\.id.rawValue)
        return full.restricted(to: Set(ids.map { ModuleID($0) }))
    }

    static func ids(_ list: [ModuleID]) -> JSONValue { .array(list.map { JSONValue.string($0.rawValue) }) }

    @Test func theVectorsHaveCases() {
        #expect((Self.vectors["cases"]?.arrayValue?.count ?? 0) >= 10)
    }

    @Test func everyCaseGivesItsChangesAndItsSwapFrame() throws {
        for vector in Self.vectors["cases"]?.arrayValue ?? [] {
            let name = vector["name"]?.stringValue ?? "?"
            let old = try Self.restricted(vector["old"], placed: vector["oldPlaced"])
            let new = try Self.restricted(vector["new"], placed: vector["placed"])
            let diff = FlowDiff(from: old, to: new)
            #expect(Self.ids(diff.changed) == vector["changed"], "\(name): changed")
            #expect(Self.ids(diff.added) == vector["added"], "\(name): added")
            #expect(Self.ids(diff.removed) == vector["removed"], "\(name): removed")
            #expect(diff.moved.isEmpty, "\(name): one runtime, nothing moves between runtimes")

            let oldPlan = FlowPlan(flow: old)
            let newPlan = FlowPlan(flow: new)
            guard oldPlan.instances.count == 1, newPlan.instances.count == 1 else {
                Issue.record("\(name): expected one instance before and after")
                continue
            }
            let nothing = !FlowRun.runtimeChanges(oldPlan.instances[0], in: newPlan, flow: new.id)
            #expect(JSONValue.bool(nothing) == vector["nothing"], "\(name): nothing")

            guard let expected = vector["swap"] else { continue }
            // What FlowRun.swap (rewire) hands RuntimeInstance.swap for the instance that stays.
            let instance = newPlan.instances[0]
            let load = diff.toLoad(in: instance.key, new: new)
            let remove = diff.toDrop(in: instance.key, old: old)
            var arriving: [ModuleID: JSONValue] = [:]
            for (id, state) in vector["arriving"]?.objectValue ?? [:] where diff.added.contains(ModuleID(id)) {
                arriving[ModuleID(id)] = state
            }
            let runInit = Set(diff.added).subtracting(arriving.keys).intersection(load)
            let frame = HostMessage.Swap(flow: new.id, instance: instance, load: load, remove: remove,
                                         states: arriving.filter { load.contains($0.key) }, runInit: runInit)
            var written = try JSONValue(parsing: JSONEncoder().encode(frame)).objectValue ?? [:]
            let t = written.removeValue(forKey: "t")
            #expect(t == "swap", "\(name): t")
            #expect(JSONValue.object(written) == expected, "\(name): swap frame")
        }
    }
}
