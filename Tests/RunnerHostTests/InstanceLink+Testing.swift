import FlowModel
@testable import RunnerHost

extension InstanceLink {
    /// A link with a writer of its own on `dataPath`'s loop, for tests that drive one link by hand.
    static func standalone(dataPath: DataPath, flow: FlowID, runtime: RuntimeKind, slots: [Endpoint], window: Int,
                           queueBound: Int, cycleQueueBound: Int = 1_000_000) -> InstanceLink {
        InstanceLink(writer: InstanceWriter(dataPath: dataPath, window: window, queueBound: queueBound, cycleQueueBound: cycleQueueBound),
                     flow: flow, runtime: runtime, slots: slots)
    }
}
