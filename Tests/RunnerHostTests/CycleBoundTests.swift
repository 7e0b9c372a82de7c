import FlowModel
import NIOCore
import NIOEmbedded
import RunnerProtocol
import Testing
@testable import RunnerHost

/// The back-pressure bounds as `DataPath.connect` wires them
/// (docs/architecture.md, "Back pressure"): an instance that feeds another
/// stops being read past the queue bound, except a feeder in a cycle of
/// instances with it, which stops only past the cycle bound, and both are
/// read again once the queue is back to half. Each link reads from an
/// embedded channel, whose autoRead option shows whether it is blocked.
@Suite(.timeLimit(.minutes(1))) struct CycleBoundTests {
    struct Wired {
        let plan: FlowPlan
        let links: [InstanceLink]
        let channels: [EmbeddedChannel]
        let dataPath: DataPath
        /// Acks are cumulative per process: what each instance acknowledged so far.
        private let ackCounts = AckCounts()
        final class AckCounts { var counts: [RuntimeKind: Int] = [:] }
        var acked: [RuntimeKind: Int] {
            get { ackCounts.counts }
            nonmutating set { ackCounts.counts = newValue }
        }

        init(_ json: String, window: Int = 4, queueBound: Int, cycleQueueBound: Int) throws {
            let flow = try RunnerHarness.flow(json)
            plan = FlowPlan(flow: flow)
            let loop = EmbeddedEventLoop()
            dataPath = DataPath(loop: loop, onOutput: { _, _, _ in })
            let dataPath = self.dataPath
            links = plan.instances.map {
                InstanceLink.standalone(dataPath: dataPath, flow: flow.id, runtime: $0.runtime, slots: $0.slots, window: window,
                                        queueBound: queueBound, cycleQueueBound: cycleQueueBound)
            }
            dataPath.connect(Dictionary(uniqueKeysWithValues: zip(plan.instances.map(\.key), links)), plan: plan)
            channels = links.map { _ in EmbeddedChannel(loop: loop) }
            for (link, channel) in zip(links, channels) { link.writer.attach(channel) }
        }

        func instance(_ runtime: RuntimeKind) -> Int { plan.instances.firstIndex { $0.runtime == runtime }! }

        /// Whether the host reads the instance of `runtime` (its channel's last autoRead setting).
        func reading(_ runtime: RuntimeKind) -> Bool {
            let set = channels[instance(runtime)].options.last { $0.option is ChannelOptions.Types.AutoReadOption }
            return (set?.value as? Bool) ?? true
        }

        /// Queues `n` messages for `module.in`.
        func deliver(_ n: Int, to module: String) {
            let (i, slot) = plan.inputSlot(module: ModuleID(module), port: PortName("in"))!
            for _ in 0..<n { links[i].deliver(slot: slot, payload: ByteBuffer(string: "1")) }
        }

        /// Acknowledges messages of `runtime`'s instance one at a time until it
        /// holds `target` (the window in flight, the rest queued).
        func drain(_ runtime: RuntimeKind, to target: Int) {
            let link = links[instance(runtime)]
            while link.writer.queuedCount > target {
                acked[runtime, default: 0] += 1
                link.ack(acked[runtime]!, life: link.writer.life)
            }
        }

        func forget() { for link in links { link.forget() } }
    }

    static let cycle = """
    {"id": "cyc", "modules": [
      {"id": "gen", "runtime": "python3", "code": "x"},
      {"id": "relay", "runtime": "node", "code": "x"},
      {"id": "count", "runtime": "python3", "code": "x"}],
     "connections": [{"from": "gen.out", "to": "relay.in"}, {"from": "relay.out", "to": "count.in"}]}
    """

    static let line = """
    {"id": "line", "modules": [
      {"id": "src", "runtime": "node", "code": "x"},
      {"id": "sink", "runtime": "python3", "code": "x"}],
     "connections": [{"from": "src.out", "to": "sink.in"}]}
    """

    @Test func aFeederInACycleStopsOnlyPastTheCycleBoundAndResumesAtHalf() throws {
        let w = try Wired(Self.cycle, window: 4, queueBound: 10, cycleQueueBound: 100)
        defer { w.forget() }
        // 4 in flight, then 100 queued: far past the queue bound, at the cycle bound.
        w.deliver(104, to: "count")
        #expect(w.links[w.instance(.python3)].writer.queuedCount == 104)
        #expect(w.reading(.node), "a feeder in a cycle is not stopped at the queue bound")
        w.deliver(1, to: "count")
        #expect(!w.reading(.node), "past the cycle bound it is stopped")
        #expect(w.reading(.python3), "python is not stopped for its own queue")
        w.drain(.python3, to: 4 + 51)
        #expect(!w.reading(.node), "still stopped above half the cycle bound")
        w.drain(.python3, to: 4 + 50)
        #expect(w.reading(.node), "read again at half the cycle bound")
    }

    @Test func aFeederOutsideACycleStopsPastTheQueueBound() throws {
        let w = try Wired(Self.line, window: 4, queueBound: 10, cycleQueueBound: 100)
        defer { w.forget() }
        w.deliver(4 + 10, to: "sink")
        #expect(w.reading(.node))
        w.deliver(1, to: "sink")
        #expect(!w.reading(.node), "past the queue bound the feeder is stopped")
        w.drain(.python3, to: 4 + 6)
        #expect(!w.reading(.node), "still stopped above half the queue bound")
        w.drain(.python3, to: 4 + 5)
        #expect(w.reading(.node), "read again at half the queue bound")
    }
}
