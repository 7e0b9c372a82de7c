import FlowModel
import Foundation
import RunnerProtocol
import Testing
@testable import RunnerHost

/// A hot swap that needs a runtime instance the flow did not have (a module
/// of a new runtime, or with a new dependency set) starts it connected to
/// the data path: its first frames do not find the path missing.
@Suite(.timeLimit(.minutes(2))) struct SwapNewInstanceTests {
    @Test func swapAddingAModuleOfANewRuntime_startsItsInstance_andItsOutputsFlow() async throws {
        let h = RunnerHarness()
        do {
            _ = try await h.deployAndStart("""
            {"id": "grow", "modules": [{"id": "py", "runtime": "python3", "code": "def on_message(msg, ctx):\\n    return 'py'\\n"}]}
            """)
            try await h.host.deploy(try RunnerHarness.flow("""
            {"id": "grow", "modules": [
              {"id": "py", "runtime": "python3", "code": "def on_message(msg, ctx):\\n    return 'py'\\n"},
              {"id": "js", "runtime": "node", "code": "module.exports = (msg) => 'js:' + msg.payload"}],
             "connections": [{"from": "py.out", "to": "js.in"}]}
            """))
            try await h.inject("grow", "py", "1")
            try await h.recorder.wait(for: "the new node module's output") { $0.outputs("grow", "js").contains("\"js:py\"") }
        } catch {
            await h.shutdown()
            throw error
        }
        await h.shutdown()
    }
}
