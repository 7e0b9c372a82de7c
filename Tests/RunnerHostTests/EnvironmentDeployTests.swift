import FlowModel
import Foundation
import FuzzSupport
import RunnerProtocol
import Testing
@testable import RunnerHost

/// Deploys whose modules have dependencies, on a real RunnerHost.
@Suite(.serialized, .timeLimit(.minutes(4))) struct EnvironmentDeployTests {
    static func module(_ deps: [String]) -> String {
        let list = deps.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
        {"id": "m", "runtime": "python3", "dependencies": [\(list)], "code": "import pfswap\\ndef on_message(msg, ctx):\\n    ctx.state['n'] = ctx.state.get('n', 0) + 1\\n    return {'version': pfswap.VERSION, 'n': ctx.state['n']}\\n"}
        """
    }

    @Test func hotSwapThatChangesDependencies_buildsFirst_thenMovesTheModuleWithItsState() async throws {
        let dir = LocalPackages.temporaryDirectory("swap-deps")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let v1 = try LocalPackages.wheel("pfswap", version: "1.0.0", in: dir)
        let v2 = try LocalPackages.wheel("pfswap", version: "2.0.0", in: dir)
        let h = RunnerHarness()
        do {
            _ = try await h.deployAndStart("{\"id\": \"sw\", \"modules\": [\(Self.module([v1]))]}")
            try await h.inject("sw", "m", "1")
            try await h.recorder.wait(for: "v1 output") { $0.outputs("sw").contains { $0.contains("\"1.0.0\"") } }
            try await h.host.deploy(try RunnerHarness.flow("{\"id\": \"sw\", \"modules\": [\(Self.module([v2]))]}"))
            try await h.inject("sw", "m", "2")
            try await h.recorder.wait(for: "v2 output") {
                $0.outputs("sw").contains { $0.contains("\"2.0.0\"") && $0.contains("\"n\": 2") || $0.contains("\"2.0.0\"") && $0.contains("\"n\":2") }
            }
            // Removal refused while used, naming the module; the v1 environment is free.
            let users = await h.host.environmentUsers()
            let used = DependencySet(runtime: .python3, dependencies: [v2]).id
            #expect(users[used] == [FlowModuleID(flow: FlowID("sw"), module: ModuleID("m"))])
            await #expect(throws: EnvironmentError.inUse(used, by: [FlowModuleID(flow: FlowID("sw"), module: ModuleID("m"))])) {
                try await h.host.removeEnvironment(used)
            }
            try await h.host.removeEnvironment(DependencySet(runtime: .python3, dependencies: [v1]).id)
            #expect(await h.host.listEnvironments(runtime: nil).map(\.id) == [used])
        } catch {
            await h.shutdown()
            throw error
        }
        await h.shutdown()
    }
}
