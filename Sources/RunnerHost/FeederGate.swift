/// The instances that feed one link and stop being read while its queue is
/// long: closed past `high` queued messages, open again at `low` (half).
///
/// Confined to the runner's event loop, like the link that owns it.
struct FeederGate {
    var feeders: [InstanceLink] = []
    let high: Int
    private(set) var closed = false

    init(high: Int) { self.high = high }

    /// Closes or opens the gate for a queue of `queued` messages.
    @inline(__always)
    mutating func update(queued: Int) {
        if !closed, queued > high {
            closed = true
            for f in feeders { f.block() }
        } else if closed, queued <= high / 2 {
            closed = false
            for f in feeders { f.unblock() }
        }
    }

    /// Opens the gate and forgets the feeders (the flow is being rewired or is gone).
    mutating func reset() {
        if closed {
            closed = false
            for f in feeders { f.unblock() }
        }
        feeders = []
    }
}
