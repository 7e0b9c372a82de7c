import FlowModel
import NIOCore
import RunnerProtocol

/// What the debugger holds and reports.
extension FlowDebugger {
    /// A held message points at where it goes (its link and slot, and the input they stand for),
    /// not at an index into the flow's links: a swap moves it by its input.
    struct Held {
        var seq: Int
        var link: InstanceLink
        var slot: Int
        var endpoint: Endpoint
        var payload: ByteBuffer
        /// A message from another runner: done (acknowledged to its sender) only once it was processed,
        /// so that held messages of a runner that dies are delivered again elsewhere.
        var receipt: InboundStream.Receipt? = nil
    }

    /// What one module did in one step.
    struct StepRecord {
        var inputs: [PortName: [ByteBuffer]] = [:]
        var outputs: [PortName: [ByteBuffer]] = [:]
    }

    /// Where the flow stopped.
    struct Hit: Sendable {
        var module: ModuleID
        var port: PortName
        var payload: ByteBuffer
    }
}

extension FlowDebugger.StepRecord {
    var isEmpty: Bool { inputs.isEmpty && outputs.isEmpty }
}
