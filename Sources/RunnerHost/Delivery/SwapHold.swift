import NIOCore

/// The hot swap's stage of delivery (docs/hot-swap.md): while it holds, new
/// messages wait here, except those for the slots being drained (modules being
/// removed finish what was queued for them). A value, kept by the flow's
/// `InstanceLink` on the runner's event loop.
struct SwapHold {
    private(set) var isHolding = false
    private var drainSlots: Set<Int> = []
    private(set) var held = CircularBuffer<PendingMessage>()

    /// Whether a message for `slot` stops here.
    @inline(__always)
    func takes(_ slot: Int) -> Bool { isHolding && !drainSlots.contains(slot) }

    /// Starts holding everything but the `drain` slots.
    mutating func begin(drain: Set<Int>) {
        isHolding = true
        drainSlots = drain
    }

    mutating func hold(_ message: PendingMessage) { held.append(message) }

    /// The drained modules finished: their messages are held too from now on.
    mutating func stopDraining() { drainSlots = [] }

    /// Everything held, oldest first; the hold ends.
    mutating func end() -> [PendingMessage] {
        isHolding = false
        drainSlots = []
        defer { held.removeAll() }
        return Array(held)
    }

    /// Drops the held messages from other runners (their senders send them again).
    mutating func dropFromOtherRunners() {
        guard held.contains(where: { $0.receipt != nil }) else { return }
        var kept = CircularBuffer<PendingMessage>()
        for m in held where m.receipt == nil { kept.append(m) }
        held = kept
    }

    func count(slot: Int) -> Int { held.reduce(0) { $0 + ($1.slot == slot ? 1 : 0) } }
}
