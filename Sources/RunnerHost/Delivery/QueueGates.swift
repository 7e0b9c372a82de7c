/// The instances that feed one writer and stop being read while its queue is
/// long: closed past `high` queued messages, open again at `high / 2`.
///
/// Confined to the runner's event loop, like the writer that owns it.
struct FeederGate {
    var feeders: [InstanceWriter] = []
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

/// A writer's back pressure: its feeders stop being read while its queue is
/// past `high`, except the feeders it feeds too (through any path), which stop
/// only past the cycle bound: a runtime blocked writing inside a handler cannot
/// run the module that would drain the cycle, so a bound that small would stall it.
struct QueueGates {
    var upstream: FeederGate
    var cycleUpstream: FeederGate

    init(high: Int, cycleHigh: Int) {
        upstream = FeederGate(high: high)
        cycleUpstream = FeederGate(high: cycleHigh)
    }

    @inline(__always)
    mutating func update(queued: Int) {
        upstream.update(queued: queued)
        cycleUpstream.update(queued: queued)
    }

    mutating func reset() {
        upstream.reset()
        cycleUpstream.reset()
    }

    /// Adds a feeder: `onCycle` when this writer feeds it back.
    mutating func add(_ feeder: InstanceWriter, onCycle: Bool) {
        if onCycle { cycleUpstream.feeders.append(feeder) } else { upstream.feeders.append(feeder) }
    }
}
