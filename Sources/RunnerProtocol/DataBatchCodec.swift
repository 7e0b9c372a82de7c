import FlowModel
import NIOCore

/// Writes and reads data batches (see `DataBatchHeader`, `DataFrame`,
/// docs/runner-protocol.md). The reader finds each payload by its length and
/// hands it on as a slice of the message: it never looks inside.
public enum DataBatchCodec {
    static let magic: [UInt8] = Array("PF".utf8)
    /// Numbers are decimal without sign or leading zero and at most 15 digits
    /// (so JavaScript reads them exactly).
    static let maxDigits = 15
    /// A header line longer than this is refused before it is parsed.
    static let maxHeaderLine = 512
    /// At most this many refused frames are listed in one header (the rest go in the next batch).
    public static let maxRefusals = 16

    // MARK: Writing

    public static func writeHeader(_ header: DataBatchHeader, into buffer: inout ByteBuffer) {
        buffer.writeString("PF\(RunnerProtocol.version) \(header.from.runner) \(header.from.session) \(header.to.runner) \(header.to.session) \(header.firstSeq) \(header.recv) \(header.ack)")
        if !header.refused.isEmpty {
            buffer.writeString(" " + header.refused.map(String.init).joined(separator: ","))
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// Appends one frame; `payload` is written as it is (its readable bytes).
    public static func writeFrame(gen: Int, flow: FlowID, module: ModuleID, port: PortName, payload: ByteBuffer, into buffer: inout ByteBuffer) {
        buffer.writeString("\(gen) \(flow)/\(module).\(port) \(payload.readableBytes)\n")
        var payload = payload
        buffer.writeBuffer(&payload)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    public static func encode(_ batch: DataBatch) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(64 + batch.frames.reduce(0) { $0 + 80 + $1.payload.readableBytes })
        writeHeader(batch.header, into: &buffer)
        for f in batch.frames { writeFrame(gen: f.gen, flow: f.flow, module: f.module, port: f.port, payload: f.payload, into: &buffer) }
        return buffer
    }

    // MARK: Reading

    /// Reads only the header: what the dispatcher needs to forward the batch.
    public static func readHeader(_ message: ByteBuffer) throws(RunnerProtocolError) -> DataBatchHeader {
        var view = message
        return try header(from: &view)
    }

    /// Reads the whole batch; payloads are slices of `message`.
    public static func decode(_ message: ByteBuffer, maxFrameBytes: Int = RunnerProtocol.defaultMaxFrameBytes) throws(RunnerProtocolError) -> DataBatch {
        var view = message
        let header = try header(from: &view)
        var frames: [DataFrame] = []
        while view.readableBytes > 0 {
            frames.append(try frame(from: &view, maxFrameBytes: maxFrameBytes, index: frames.count))
        }
        return DataBatch(header: header, frames: frames)
    }

    public static func header(from view: inout ByteBuffer) throws(RunnerProtocolError) -> DataBatchHeader {
        guard let start = view.getBytes(at: view.readerIndex, length: min(2, view.readableBytes)), start == magic else {
            throw RunnerProtocolError(.badMagic, "a data batch starts with \"PF\(RunnerProtocol.version) \"")
        }
        guard let line = try takeLine(&view, limit: maxHeaderLine, code: .badBatchHeader, what: "batch header") else {
            throw RunnerProtocolError(.badBatchHeader, "the batch header has no end of line")
        }
        let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        let version = fields[0].dropFirst(2)
        guard let v = number(version), v == RunnerProtocol.version else {
            throw RunnerProtocolError(.unsupportedVersion, "data batch version \"\(String(decoding: version, as: UTF8.self))\"; this side speaks \(RunnerProtocol.version)")
        }
        guard fields.count == 8 || fields.count == 9 else {
            throw RunnerProtocolError(.badBatchHeader, "the batch header has \(fields.count) fields, expected 8 or 9: PF1 from fromSession to toSession firstSeq recv ack [refused]")
        }
        guard let from = runner(fields[1]), let fromSession = number(fields[2]), fromSession >= 1,
              let to = runner(fields[3]), let toSession = number(fields[4]), toSession >= 1 else {
            throw RunnerProtocolError(.badBatchHeader, "bad runner or session in the batch header")
        }
        guard let firstSeq = number(fields[5]), firstSeq >= 1, let recv = number(fields[6]), let ack = number(fields[7]) else {
            throw RunnerProtocolError(.badBatchHeader, "bad firstSeq, recv or ack in the batch header")
        }
        guard ack <= recv else {
            throw RunnerProtocolError(.badBatchHeader, "ack \(ack) is past recv \(recv): a frame is done only after it arrived")
        }
        var refused: [Int] = []
        if fields.count == 9 {
            let list = fields[8].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
            guard list.count <= maxRefusals else {
                throw RunnerProtocolError(.badBatchHeader, "the batch header refuses \(list.count) frames; at most \(maxRefusals) fit in one header")
            }
            for item in list {
                guard let seq = number(item), seq >= 1, seq <= recv, seq > (refused.last ?? 0) else {
                    throw RunnerProtocolError(.badBatchHeader, "bad refused list in the batch header: increasing frame numbers from 1 to recv (\(recv)), comma-separated")
                }
                refused.append(seq)
            }
        }
        return DataBatchHeader(from: StreamEnd(runner: from, session: fromSession), to: StreamEnd(runner: to, session: toSession),
                               firstSeq: firstSeq, recv: recv, ack: ack, refused: refused)
    }

    public static func frame(from view: inout ByteBuffer, maxFrameBytes: Int, index: Int) throws(RunnerProtocolError) -> DataFrame {
        guard let line = try takeLine(&view, limit: maxHeaderLine, code: .badFrameHeader, what: "frame \(index) header") else {
            throw RunnerProtocolError(.truncated, "frame \(index): the header has no end of line")
        }
        let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard fields.count == 3, let gen = number(fields[0]), gen >= 1, let target = target(fields[1]), let length = number(fields[2]) else {
            throw RunnerProtocolError(.badFrameHeader, "frame \(index): expected \"gen flow/module.port length\"")
        }
        guard length > 0 else { throw RunnerProtocolError(.emptyPayload, "frame \(index): empty payload") }
        guard length <= maxFrameBytes else {
            throw RunnerProtocolError(.frameTooLarge, "frame \(index): payload of \(length) bytes is over the limit of \(maxFrameBytes)")
        }
        guard view.readableBytes >= length + 1, let payload = view.readSlice(length: length) else {
            throw RunnerProtocolError(.truncated, "frame \(index): \(length) payload bytes announced, \(max(0, view.readableBytes - 1)) there")
        }
        guard view.readInteger(as: UInt8.self) == UInt8(ascii: "\n") else {
            throw RunnerProtocolError(.badFrameEnd, "frame \(index): the payload is not followed by an end of line")
        }
        return DataFrame(gen: gen, flow: target.flow, module: target.module, port: target.port, payload: payload)
    }

    /// Takes the bytes up to the next `\n` (consumed), as a view of the buffer (no copy); nil when there is none.
    static func takeLine(_ view: inout ByteBuffer, limit: Int, code: RunnerProtocolError.Code, what: String) throws(RunnerProtocolError) -> ByteBufferView? {
        let searched = min(view.readableBytes, limit + 1)
        let window = view.readableBytesView.prefix(searched)
        guard let end = window.firstIndex(of: UInt8(ascii: "\n")) else {
            if searched > limit { throw RunnerProtocolError(code, "the \(what) is longer than \(limit) bytes") }
            return nil
        }
        let length = end - window.startIndex
        guard let line = view.readSlice(length: length) else { return nil }
        view.moveReaderIndex(forwardBy: 1)
        return line.readableBytesView
    }

    static func number(_ bytes: some Collection<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= maxDigits, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        if bytes.count > 1 && bytes.first == 0x30 { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    static func runner(_ bytes: some Collection<UInt8>) -> RunnerID? {
        let text = String(decoding: bytes, as: UTF8.self)
        return Identifier.isValid(text) ? RunnerID(text) : nil
    }

    /// `flow/module.port`, each part an identifier.
    static func target(_ bytes: some Collection<UInt8>) -> (flow: FlowID, module: ModuleID, port: PortName)? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let slash = text.firstIndex(of: "/"), let dot = text[slash...].firstIndex(of: ".") else { return nil }
        let flow = String(text[..<slash]), module = String(text[text.index(after: slash)..<dot]), port = String(text[text.index(after: dot)...])
        guard Identifier.isValid(flow), Identifier.isValid(module), Identifier.isValid(port) else { return nil }
        return (FlowID(flow), ModuleID(module), PortName(port))
    }
}
