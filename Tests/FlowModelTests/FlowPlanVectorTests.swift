import Foundation
import Testing
@testable import FlowModel

/// `FlowPlan` and the `configure` frame it gives against every case of the
/// shared vectors (Tests/Fixtures/vectors/flow-tables.json), which the
/// browser runner's `flow_tables.js` passes too.
@Suite struct FlowPlanVectorTests {
    static let vectors: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/vectors/flow-tables.json").standardized
        return try! JSONValue(parsing: Data(contentsOf: url))
    }()

    /// The plan of the modules `placed` (all when nil) on one runner, as `RunnerHost.deploy` makes it.
    static func plan(_ vector: JSONValue) throws -> FlowPlan {
        let full = try FlowValidator().validate(vector["flow"] ?? .null)
        let ids = vector["placed"]?.arrayValue?.compactMap(\.stringValue) ?? full.modules.map(\.id.rawValue)
        return FlowPlan(flow: full.restricted(to: Set(ids.map { ModuleID($0) })))
    }

    /// A value as JSON text writes it (the frame encoder's own output, read back).
    static func encoded(_ value: some Encodable) throws -> JSONValue {
        try JSONValue(parsing: JSONEncoder().encode(value))
    }

    /// A host route in the vectors' form.
    static func hostRoute(_ route: HostRoute) -> JSONValue {
        [
            "module": .string(route.source.module.rawValue), "port": .string(route.source.port.rawValue),
            "slots": .array(route.targets.map { JSONValue.int($0.slot) }),
            "elsewhere": .array(route.elsewhere.map { JSONValue.array([.string($0.module.rawValue), .string($0.port.rawValue)]) }),
            "output": .bool(route.isFlowOutput),
        ]
    }

    @Test func theVectorsHaveCases() {
        #expect((Self.vectors["cases"]?.arrayValue?.count ?? 0) >= 10)
    }

    @Test func everyCaseGivesItsConfigureFrameAndHostRoutes() throws {
        for vector in Self.vectors["cases"]?.arrayValue ?? [] {
            let name = vector["name"]?.stringValue ?? "?"
            let plan = try Self.plan(vector)
            #expect(plan.instances.count == 1, "\(name): one runtime, one instance")
            guard let instance = plan.instances.first else { continue }
            let frame = try Self.encoded(HostMessage.Configure(flow: plan.flow.id, instance: instance, states: [:], runInit: []))
            // The vectors' modules are the frame's without what a deploy adds (saved state, init).
            let modules = JSONValue.array((frame["modules"]?.arrayValue ?? []).map { m in
                JSONValue.object((m.objectValue ?? [:]).filter { $0.key != "state" && $0.key != "init" })
            })
            #expect(modules == vector["modules"], "\(name): modules")
            #expect(frame["slots"] == vector["slots"], "\(name): slots")
            #expect(frame["routes"] == vector["routes"], "\(name): routes")
            #expect(JSONValue.array(instance.hostRoutes.map(Self.hostRoute)) == vector["hostRoutes"], "\(name): host routes")
            #expect(instance.hostRoutes.allSatisfy { $0.targets.allSatisfy { $0.instance == 0 } }, "\(name): one instance")
            for (slot, endpoint) in (vector["slots"]?.arrayValue ?? []).enumerated() {
                let found = plan.inputSlot(module: ModuleID(endpoint[0]?.stringValue ?? ""), port: PortName(endpoint[1]?.stringValue ?? ""))
                #expect(found?.instance == 0 && found?.slot == slot, "\(name): slot \(slot)")
            }
        }
    }
}
