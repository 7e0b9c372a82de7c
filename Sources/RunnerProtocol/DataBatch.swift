import FlowModel
import NIOCore

/// One end of a cross-runner stream: a runner on one connection (`session`
/// from its `welcome`). A new connection is a new stream.
public struct StreamEnd: Hashable, Sendable, CustomStringConvertible {
    public var runner: RunnerID
    public var session: Int
    public init(runner: RunnerID, session: Int) { self.runner = runner; self.session = session }
    public var description: String { "\(runner)@\(session)" }
}

/// The first line of a data batch: all the dispatcher reads to forward it.
///
///     PF1 <from> <fromSession> <to> <toSession> <firstSeq> <recv> <ack>[ <refused>]\n
///
/// `firstSeq` numbers the batch's first frame in the stream `from → to` (the
/// others follow one by one; in a batch without frames it is the next number
/// the sender will use). `recv` and `ack` are cumulative for the reverse
/// stream `to → from`: every frame up to `recv` has arrived and is queued at
/// `from`; every frame up to `ack` (≤ `recv`) is done there (see
/// docs/runner-protocol.md, "Acks"). A batch without frames is a bare ack.
/// `refused` (optional; at most `DataBatchCodec.maxRefusals`, increasing,
/// each ≤ `recv`, written comma-separated) lists frames of the reverse stream
/// that `from` refused: their generation is not the one it runs the module at.
/// Their sender takes them back and sends them to the module's current place
/// (docs/runner-protocol.md, "Refusals"). A refused frame counts in `ack`
/// only in the batch that lists it or a later one.
public struct DataBatchHeader: Hashable, Sendable {
    public var from: StreamEnd
    public var to: StreamEnd
    public var firstSeq: Int
    public var recv: Int
    public var ack: Int
    public var refused: [Int]

    public init(from: StreamEnd, to: StreamEnd, firstSeq: Int, recv: Int, ack: Int, refused: [Int] = []) {
        self.from = from; self.to = to; self.firstSeq = firstSeq; self.recv = recv; self.ack = ack; self.refused = refused
    }
}

/// One message for one input port of a module on the receiving runner.
///
///     <gen> <flow>/<module>.<port> <length>\n<payload: length bytes>\n
///
/// `gen` is the placement generation of the target module the sender routed
/// by; the receiver refuses (and counts) a frame whose generation is not the
/// one it runs the module at. The payload is JSON text, never decoded here.
public struct DataFrame: Sendable, Equatable {
    public var gen: Int
    public var flow: FlowID
    public var module: ModuleID
    public var port: PortName
    /// A slice of the batch's buffer (no copy) when decoded.
    public var payload: ByteBuffer

    public init(gen: Int, flow: FlowID, module: ModuleID, port: PortName, payload: ByteBuffer) {
        self.gen = gen; self.flow = flow; self.module = module; self.port = port; self.payload = payload
    }
}

/// A WebSocket binary message of the runner protocol: a header and zero or
/// more frames of one stream, in order.
public struct DataBatch: Sendable, Equatable {
    public var header: DataBatchHeader
    public var frames: [DataFrame]

    public init(header: DataBatchHeader, frames: [DataFrame]) { self.header = header; self.frames = frames }

    /// The sequence number of the batch's last frame (`firstSeq - 1` when it has none).
    public var lastSeq: Int { header.firstSeq + frames.count - 1 }
}
