import Foundation
import Testing
@testable import FlowModel

@Suite struct FlowDiffTests {
    func flow(_ modules: [ModuleSpec], _ connections: [(String, String)] = []) -> FlowDocument {
        FlowDocument(id: FlowID("f"), modules: modules,
                     connections: connections.map { Connection(from: Endpoint(parsing: $0.0)!, to: Endpoint(parsing: $0.1)!) })
    }

    func py(_ id: String, _ code: String = "x", config: JSONValue = [:]) -> ModuleSpec {
        ModuleSpec(id: ModuleID(id), runtime: .python3, code: code, config: config)
    }

    func node(_ id: String, _ code: String = "x") -> ModuleSpec { ModuleSpec(id: ModuleID(id), runtime: .node, code: code) }

    @Test func sortsEveryModule() {
        let old = flow([py("same"), py("code"), py("conf"), py("moves"), py("gone")], [("same.out", "code.in")])
        let new = flow([py("same"), py("code", "y"), py("conf", config: ["k": 1]), node("moves"), node("fresh")], [("same.out", "code.in")])
        let diff = FlowDiff(from: old, to: new)
        #expect(diff.unchanged == [ModuleID("same")])
        #expect(diff.changed == [ModuleID("code"), ModuleID("conf")])
        #expect(diff.moved == [ModuleID("moves")])
        #expect(diff.added == [ModuleID("fresh")])
        #expect(diff.removed == [ModuleID("gone")])
        #expect(!diff.connectionsChanged)
        #expect(diff.toLoad(in: InstanceKey(runtime: .node), new: new) == [ModuleID("moves"), ModuleID("fresh")])
        #expect(diff.toLoad(in: InstanceKey(runtime: .python3), new: new) == [ModuleID("code"), ModuleID("conf")])
        #expect(diff.toDrop(in: InstanceKey(runtime: .python3), old: old) == [ModuleID("moves"), ModuleID("gone")])
        #expect(diff.toDrop(in: InstanceKey(runtime: .node), old: old).isEmpty)
    }

    @Test func portsAndConnectionsCount() {
        var wider = py("a")
        wider.outputs = [PortName("out"), PortName("err")]
        let diff = FlowDiff(from: flow([py("a"), py("b")], [("a.out", "b.in")]), to: flow([wider, py("b")], [("a.err", "b.in")]))
        #expect(diff.changed == [ModuleID("a")])
        #expect(diff.connectionsChanged)
        #expect(!diff.isEmpty)
        #expect(FlowDiff(from: flow([py("a")]), to: flow([py("a")])).isEmpty)
    }

    @Test func codeHashIsStableAndShort() {
        #expect(CodeHash.of("def on_message(m, c): pass") == CodeHash.of("def on_message(m, c): pass"))
        #expect(CodeHash.of("a") != CodeHash.of("b"))
        #expect(CodeHash.of("").count == 16)
        #expect(CodeHash.of("") == "cbf29ce484222325")
    }
}
