import FlowModel
import NIOCore
import RunnerProtocol
import Testing
@testable import RunnerHost

/// The data-batch format beyond the shared vectors: every cut of a batch is
/// refused (never a crash, never a short read), large batches round-trip, and
/// payloads come out as slices of the message.
@Suite struct DataBatchCodecTests {
    let header = DataBatchHeader(from: StreamEnd(runner: RunnerID("cpu-1"), session: 4), to: StreamEnd(runner: RunnerID("gpu-1"), session: 9),
                                 firstSeq: 1, recv: 0, ack: 0)

    func frame(_ i: Int) -> DataFrame {
        DataFrame(gen: 1 + i % 3, flow: FlowID("orders"), module: ModuleID("m\(i % 5)"), port: PortName("in"), payload: ByteBuffer(string: "{\"i\":\(i),\"s\":\"\u{2603}\"}"))
    }

    @Test func manyFramesRoundTripInOrder() throws {
        let batch = DataBatch(header: header, frames: (0..<5_000).map(frame))
        let decoded = try DataBatchCodec.decode(DataBatchCodec.encode(batch))
        #expect(decoded == batch)
        #expect(decoded.lastSeq == 5_000)
    }

    @Test func everyCutOfABatchIsRefused() throws {
        let bytes = DataBatchCodec.encode(DataBatch(header: header, frames: (0..<3).map(frame)))
        var lineEnds = Set<Int>()
        for (i, b) in bytes.readableBytesView.enumerated() where b == UInt8(ascii: "\n") { lineEnds.insert(i + 1) }
        for length in 0..<bytes.readableBytes {
            let cut = bytes.getSlice(at: 0, length: length)!
            // A cut right after a payload's newline is a shorter valid batch.
            if lineEnds.contains(length), let shorter = try? DataBatchCodec.decode(cut) {
                #expect(shorter.frames.count < 3)
                continue
            }
            #expect(throws: RunnerProtocolError.self, "cut at \(length)") { _ = try DataBatchCodec.decode(cut) }
        }
    }

    @Test func payloadsAreSlicesOfTheMessage() throws {
        let message = DataBatchCodec.encode(DataBatch(header: header, frames: [frame(1)]))
        let decoded = try DataBatchCodec.decode(message)
        let payload = decoded.frames[0].payload
        let same = payload.withUnsafeReadableBytes { p in message.withUnsafeReadableBytes { m in
            p.baseAddress! >= m.baseAddress! && p.baseAddress! + p.count <= m.baseAddress! + m.count } }
        #expect(same, "the payload points into the message's storage")
    }

    @Test func theHeaderAloneIsReadWithoutTheFrames() throws {
        var message = ByteBuffer()
        DataBatchCodec.writeHeader(header, into: &message)
        message.writeString("this is not a frame at all")
        #expect(try DataBatchCodec.readHeader(message) == header, "forwarding needs only the first line")
        #expect(throws: RunnerProtocolError.self) { _ = try DataBatchCodec.decode(message) }
    }
}
