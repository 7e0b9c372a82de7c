import FlowModel
import NIOCore

/// The runner's message path on its event loop: links flush once per read
/// batch, and flow outputs leave through one callback.
///
/// Confined to `loop`.
final class DataPath: @unchecked Sendable {
    let loop: any EventLoop
    private var dirty: [InstanceLink] = []
    private let onOutput: @Sendable (FlowID, Endpoint, ByteBuffer) -> Void

    init(loop: any EventLoop, onOutput: @escaping @Sendable (FlowID, Endpoint, ByteBuffer) -> Void) {
        self.loop = loop
        self.onOutput = onOutput
    }

    func markDirty(_ link: InstanceLink) { dirty.append(link) }

    /// Writes every link that got frames since the last flush.
    func flushDirty() {
        guard !dirty.isEmpty else { return }
        let links = dirty
        dirty.removeAll(keepingCapacity: true)
        for link in links { link.flush() }
    }

    func publish(flow: FlowID, source: Endpoint, payload: ByteBuffer) { onOutput(flow, source, payload) }

    /// Wires the links of one flow plan together: route ids to target links, upstream lists.
    func connect(_ links: [InstanceLink], plan: FlowPlan) {
        for (i, instance) in plan.instances.enumerated() {
            links[i].dataPath = self
            links[i].routes = instance.hostRoutes.map { route in
                ResolvedRoute(targets: route.targets.map { ResolvedRoute.Target(link: links[$0.instance], slot: $0.slot) },
                              source: route.source, output: route.isFlowOutput ? route.source : nil)
            }
            for target in Set(instance.hostRoutes.flatMap { $0.targets.map(\.instance) }) where target != i {
                links[target].upstream.append(links[i])
            }
        }
    }
}
