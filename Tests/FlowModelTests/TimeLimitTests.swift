import Foundation
import Testing
@testable import FlowModel

/// `timeoutMs`: a module's time limit per message (docs/flow-format.md).
@Suite struct TimeLimitTests {
    func validate(_ timeout: String) throws(FlowValidationError) -> FlowDocument {
        try FlowValidator().validate(Data("""
        {"id": "f", "modules": [{"id": "m", "runtime": "python3", "code": "x", "timeoutMs": \(timeout)},
                                {"id": "d", "runtime": "node", "code": "x"}]}
        """.utf8))
    }

    @Test func aModuleWithoutTimeoutMsGetsTheDefaultOf60Seconds() throws {
        let flow = try validate("2500")
        #expect(flow.modules[0].timeoutMs == 2500)
        #expect(flow.modules[0].effectiveTimeoutMs == 2500)
        #expect(flow.modules[1].timeoutMs == nil)
        #expect(flow.modules[1].effectiveTimeoutMs == 60_000)
        #expect(try validate("0").modules[0].effectiveTimeoutMs == 0, "0 is no limit")
    }

    @Test(arguments: ["-1", "1.5", "\"60s\"", "86400001", "null"])
    func aTimeoutThatIsNotWholeMillisecondsIsAnIssueWithItsPath(_ bad: String) {
        do {
            _ = try validate(bad)
            Issue.record("accepted timeoutMs \(bad)")
        } catch {
            #expect(error.issues.map(\.description) == [
                "modules[0].timeoutMs: must be a whole number of milliseconds from 0 (no limit) to 86400000 (a day), got \(bad)",
            ])
        }
    }

    @Test func timeoutMsSurvivesEncodingTheDocument() throws {
        let flow = try validate("1500")
        let again = try JSONDecoder().decode(FlowDocument.self, from: JSONEncoder().encode(flow))
        #expect(again.modules[0].timeoutMs == 1500)
        #expect(again == flow)
    }
}
