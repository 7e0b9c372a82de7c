import FlowModel
import Foundation
import RunnerProtocol
import Testing
@testable import RunnerHost

/// Issue 21: the Swift runner sends `states` reports (the browser runner already did), so a module
/// placed elsewhere after its runner is lost starts from a state at most one heartbeat interval behind
/// what was acknowledged. A report carries the committed state (after exactly the acknowledged
/// messages), with the module's generation, and only when it changed.
@Suite(.timeLimit(.minutes(2))) struct StateReportTests {
    @Test(arguments: [RuntimeKind.python3, .node])
    func reportsCarryTheCommittedStateOnceEachTimeItChanges(runtime: RuntimeKind) async throws {
        try await withRunner { h in
            let code = try #require(CrashRecoveryTests.countingCode[runtime])
            _ = try await h.deployAndStart(#"{"id": "tally", "modules": [{"id": "count", "runtime": "\#(runtime.rawValue)", "code": \#(js(code))}]}"#)
            let total = 50
            for i in 0..<total { try await h.inject("tally", "count", "\(i)") }
            try await h.recorder.wait(for: "every output") { events in events.outputs("tally").count == total }
            // The last commit comes with the ack after the last message: reported once it is kept.
            var last: ModuleStateReport?
            try await eventually("the state after all \(total) reported") {
                for report in await h.host.takeStateReports() where report.flow == FlowID("tally") {
                    last = report.modules.first { $0.module == ModuleID("count") }
                }
                return last?.state == ["n": .int(total)]
            }
            #expect(last?.gen == 1)
            // Nothing changed since: nothing to report.
            #expect(await h.host.takeStateReports().isEmpty)
            try await h.inject("tally", "count", "\"one more\"")
            try await eventually("the next state reported") {
                await h.host.takeStateReports().first?.modules.first?.state == ["n": .int(total + 1)]
            }
        }
    }
}
