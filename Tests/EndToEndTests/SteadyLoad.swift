import FlowModel
import Foundation
import NIOConcurrencyHelpers
import Testing

/// The `seq` of every output `tail` printed, in arrival order.
func outputSeqs(_ tail: ChildProcess) -> [Int] {
    tail.stdout.compactMap { try? JSONValue(parsing: Data($0.utf8))["payload"]?["seq"]?.intValue }
}

/// A steady load for the fault tests: injects `{"start", "count"}` batches of `perBatch` into
/// `module` (a generator that emits one message per seq) while at most `ahead` batches are not
/// yet out at `tail` (counted as distinct seqs, so duplicates do not hide a lag), until `stop`.
/// Returns how many batches it injected: the seqs `0..<batches * perBatch` must all come out.
func steadyLoad(_ server: PolyflowServer, _ tail: ChildProcess, into module: String = "span/gen", perBatch: Int, ahead: Int = 5,
                stop: NIOLockedValueBox<Bool>) -> Task<Int, any Error> {
    Task {
        var batches = 0
        while !stop.withLockedValue({ $0 }) {
            try await eventually("the flow keeps up", timeout: .seconds(60)) { Set(outputSeqs(tail)).count >= (batches - ahead) * perBatch }
            let reply = try await server.rpc("inject", ["flowModuleId": .string(module),
                                                        "payload": ["start": .int(batches * perBatch), "count": .int(perBatch)]])
            #expect(reply["result"] == true, "\(reply)")
            batches += 1
        }
        return batches
    }
}
