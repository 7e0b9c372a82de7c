import FlowModel
import NIOCore
import RunnerProtocol

/// The runner's message path on its event loop: writers flush once per read
/// batch, and flow outputs leave through one callback.
///
/// Confined to `loop`.
final class DataPath: @unchecked Sendable {
    let loop: any EventLoop
    private var dirty: [InstanceWriter] = []
    private let onOutput: @Sendable (FlowID, Endpoint, ByteBuffer) -> Void
    /// Messages to and from modules on other runners.
    let peers: PeerRouter

    init(loop: any EventLoop, peers: PeerRouter = PeerRouter(), onOutput: @escaping @Sendable (FlowID, Endpoint, ByteBuffer) -> Void) {
        self.loop = loop
        self.peers = peers
        self.onOutput = onOutput
    }

    func markDirty(_ writer: InstanceWriter) { dirty.append(writer) }

    /// Writes every writer that got frames since the last flush.
    func flushDirty() {
        loop.assertInEventLoop()
        if !dirty.isEmpty {
            let writers = dirty
            dirty.removeAll(keepingCapacity: true)
            for writer in writers { writer.flush() }
        }
        if !peers.isEmpty { peers.flush() }
    }

    func publish(flow: FlowID, source: Endpoint, payload: ByteBuffer) { onOutput(flow, source, payload) }

    /// Wires the links of one flow plan together: route ids to sinks (a flow
    /// output, inputs here, modules elsewhere), and each writer's feeders
    /// (those in a cycle of instances with it apart). Links are found by
    /// their instance's key, never by position.
    /// `register`: these links are the flow's real ones (not a load check's):
    /// messages from other runners go to them.
    func connect(_ links: [InstanceKey: InstanceLink], plan: FlowPlan, register: Bool = true) {
        loop.assertInEventLoop()
        let keys = plan.instances.map(\.key)
        let feeds = plan.instances.map { Set($0.hostRoutes.flatMap { $0.targets.map(\.instance) }) }
        for (i, instance) in plan.instances.enumerated() {
            guard let link = links[instance.key] else { preconditionFailure("no link for instance \(instance.key) of \(plan.flow.id)") }
            link.connect(instance.hostRoutes.map { route in
                var sinks: [FrameSink] = route.isFlowOutput ? [.output(route.source)] : []
                for t in route.targets {
                    sinks.append(.input(links[keys[t.instance]]!, slot: t.slot,
                                        sharesReceipt: t.instance != i && !Self.reaches(from: t.instance, to: i, feeds)))
                }
                for e in route.elsewhere { sinks.append(.remote(e)) }
                return ResolvedRoute(source: route.source, targets: sinks)
            })
        }
        if register { peers.register(flow: plan.flow.id, links: links) }
        for (i, targets) in feeds.enumerated() {
            for target in targets where target != i {
                links[keys[target]]!.writer.addFeeder(links[keys[i]]!.writer, onCycle: Self.reaches(from: target, to: i, feeds))
            }
        }
    }

    /// Whether instance `from` feeds instance `to` through any path of routes.
    static func reaches(from: Int, to: Int, _ feeds: [Set<Int>]) -> Bool {
        var seen: Set<Int> = [from]
        var next = [from]
        while let i = next.popLast() {
            if i == to { return true }
            for j in feeds[i] where seen.insert(j).inserted { next.append(j) }
        }
        return false
    }
}
