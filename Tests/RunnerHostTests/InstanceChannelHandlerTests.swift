import FlowModel
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import PipeBridge
import RunnerProtocol
import Testing
@testable import RunnerHost

/// The host's read path: frames split across reads at any byte, large and
/// small, reach the link whole and in order; a bad or oversized frame is one
/// protocol error.
@Suite(.timeLimit(.minutes(2))) struct InstanceChannelHandlerTests {
    final class Harness {
        let channel = EmbeddedChannel()
        let published = NIOLockedValueBox<[String]>([])
        let events: AsyncStream<InstanceEvent>
        let link: InstanceLink
        let dataPath: DataPath

        init(maxFrameBytes: Int = 64 * 1024) throws {
            let published = self.published
            dataPath = DataPath(loop: channel.embeddedEventLoop, onOutput: { _, _, payload in
                published.withLockedValue { $0.append(String(buffer: payload)) }
            })
            let out = Endpoint(module: ModuleID("m"), port: PortName("out"))
            link = InstanceLink.standalone(dataPath: dataPath, flow: FlowID("f"), runtime: .python3,
                                           slots: [], window: 16, queueBound: 100)
            link.connect([ResolvedRoute(source: out, targets: [.output(out)])])
            let (stream, continuation) = AsyncStream.makeStream(of: InstanceEvent.self)
            events = stream
            try channel.pipeline.syncOperations.addHandler(
                InstanceChannelHandler(link: link, maxFrameBytes: maxFrameBytes, events: { continuation.yield($0) }))
        }

        /// Writes `bytes` into the channel as reads of `chunk` bytes each.
        func feed(_ bytes: [UInt8], chunk: Int) throws {
            var i = 0
            while i < bytes.count {
                try channel.writeInbound(ByteBuffer(bytes: bytes[i..<min(i + chunk, bytes.count)]))
                i += chunk
            }
        }

        /// The first event, or nil when none comes within `timeout`: the
        /// stream is never finished, so a missing event must not hang the suite.
        func firstEvent(within timeout: Duration = .seconds(10)) async -> InstanceEvent? {
            await firstElement(of: events, within: timeout)
        }
    }

    @Test func firstEventGivesUpWhenNothingComes() async throws {
        let h = try Harness()
        try h.feed(Self.stream(["quiet"]), chunk: 100)
        // It returns (nil) instead of waiting for ever; how soon depends on how busy the test process is.
        #expect(await h.firstEvent(within: .milliseconds(200)) == nil)
    }

    static func stream(_ payloads: [String]) -> [UInt8] {
        var buffer = ByteBuffer()
        for p in payloads { FrameEncoder.writeData(slot: 0, payload: ByteBuffer(string: p), into: &buffer) }
        return Array(buffer.readableBytesView)
    }

    static let payloads: [String] = (0..<200).map { i in
        i % 17 == 0 ? "{\"i\":\(i),\"pad\":\"\(String(repeating: "x", count: 10_000))\"}" : "{\"i\":\(i)}"
    }

    @Test(arguments: [1, 3, 7, 64, 4096, 1 << 20])
    func framesCutAtAnyByteArriveWholeAndInOrder(chunk: Int) throws {
        let h = try Harness()
        try h.feed(Self.stream(Self.payloads), chunk: chunk)
        #expect(h.published.withLockedValue { $0 } == Self.payloads)
    }

    @Test func acksAndDataInOneReadAreAllHandled() throws {
        let h = try Harness()
        var bytes = Self.stream(["1", "2"])
        bytes += Array("A0\n".utf8) + Self.stream(["3"])
        try h.feed(bytes, chunk: bytes.count)
        #expect(h.published.withLockedValue { $0 } == ["1", "2", "3"])
    }

    @Test func aFrameGrowingPastTheLimitAcrossReadsIsOneProtocolError() async throws {
        let h = try Harness(maxFrameBytes: 100)
        try h.feed(Self.stream(["ok"]) + Array("D0 ".utf8) + Array(repeating: UInt8(ascii: "x"), count: 300), chunk: 40)
        guard case .protocolError(let reason) = await h.firstEvent() else { Issue.record("no protocol error"); return }
        #expect(reason.contains("frame-too-large"), "\(reason)")
        #expect(h.published.withLockedValue { $0 } == ["ok"])
        // Later bytes are ignored, not routed.
        try h.feed(Self.stream(["late"]), chunk: 100)
        #expect(h.published.withLockedValue { $0 } == ["ok"])
    }

    @Test func anUnknownRouteIsAProtocolErrorNamingIt() async throws {
        let h = try Harness()
        try h.feed(Array("D5 {}\n".utf8), chunk: 100)
        guard case .protocolError(let reason) = await h.firstEvent() else { Issue.record("no protocol error"); return }
        #expect(reason.contains("route id 5"), "\(reason)")
    }
}
