import FlowModel
import NIOCore
import RunnerProtocol

/// The runner's message path on its event loop: links flush once per read
/// batch, and flow outputs leave through one callback.
///
/// Confined to `loop`.
final class DataPath: @unchecked Sendable {
    let loop: any EventLoop
    private var dirty: [InstanceLink] = []
    private let onOutput: @Sendable (FlowID, Endpoint, ByteBuffer) -> Void
    /// Messages to and from modules on other runners.
    let peers: PeerRouter

    init(loop: any EventLoop, peers: PeerRouter = PeerRouter(), onOutput: @escaping @Sendable (FlowID, Endpoint, ByteBuffer) -> Void) {
        self.loop = loop
        self.peers = peers
        self.onOutput = onOutput
    }

    func markDirty(_ link: InstanceLink) { dirty.append(link) }

    /// Writes every link that got frames since the last flush.
    func flushDirty() {
        loop.assertInEventLoop()
        if !dirty.isEmpty {
            let links = dirty
            dirty.removeAll(keepingCapacity: true)
            for link in links { link.flush() }
        }
        if !peers.isEmpty { peers.flush() }
    }

    func publish(flow: FlowID, source: Endpoint, payload: ByteBuffer) { onOutput(flow, source, payload) }

    /// Wires the links of one flow plan together: route ids to target links,
    /// upstream lists (feeders in a cycle of instances apart).
    /// `register`: these links are the flow's real ones (not a load check's):
    /// messages from other runners go to them.
    func connect(_ links: [InstanceLink], plan: FlowPlan, register: Bool = true) {
        loop.assertInEventLoop()
        let feeds = plan.instances.map { Set($0.hostRoutes.flatMap { $0.targets.map(\.instance) }) }
        for (i, instance) in plan.instances.enumerated() {
            links[i].dataPath = self
            links[i].routes = instance.hostRoutes.map { route in
                ResolvedRoute(targets: route.targets.map {
                    ResolvedRoute.Target(link: links[$0.instance], slot: $0.slot,
                                         sharesReceipt: $0.instance != i && !Self.reaches(from: $0.instance, to: i, feeds))
                }, elsewhere: route.elsewhere, source: route.source, output: route.isFlowOutput ? route.source : nil)
            }
        }
        if register { peers.register(flow: plan.flow.id, links: links, plan: plan) }
        for (i, targets) in feeds.enumerated() {
            for target in targets where target != i {
                if Self.reaches(from: target, to: i, feeds) {
                    links[target].cycleUpstream.feeders.append(links[i])
                } else {
                    links[target].upstream.feeders.append(links[i])
                }
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
