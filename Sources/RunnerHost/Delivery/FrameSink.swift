import FlowModel

/// Where a frame from a runtime goes: each target is a sink, and routing is
/// one loop over a route's targets (`InstanceLink.route`). (Not FlowModel's
/// `RouteTarget`, the plan's instance index and slot, which this resolves.)
enum FrameSink {
    /// An input of a module on this runner: the stages of its flow's link, then its writer.
    /// `sharesReceipt`: a message sent here keeps the cross-runner frame that caused it
    /// unacknowledged until it is done too; not when the target feeds back to the sender
    /// (a cycle within the runner would keep that frame unacknowledged for as long as it runs).
    case input(InstanceLink, slot: Int, sharesReceipt: Bool)
    /// A module on another runner, through the cross-runner transport (`PeerRouter`).
    case remote(Endpoint)
    /// A flow output: published to `tail` subscribers.
    case output(Endpoint)
}

/// A route id's targets, resolved: flow output first, then local inputs, then other runners.
struct ResolvedRoute {
    /// The output port the frames come from.
    var source: Endpoint
    var targets: [FrameSink]
}
