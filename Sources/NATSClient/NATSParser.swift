import Foundation
import NIOCore

/// Splits what a NATS server sends into operations, whatever the read
/// boundaries: a control line or a payload cut anywhere waits for its rest.
/// Payloads are slices of the bytes read, not copies.
///
/// Bounds: a control line longer than `maxControlLine` bytes, or a message
/// larger than `maxPayload`, is a protocol error (the server would not send
/// it; something else is at the other end).
public struct NATSParser {
    public var maxControlLine: Int
    public var maxPayload: Int
    private var buffer: ByteBuffer?
    /// A `MSG`/`HMSG` whose control line was read: its payload (and `\r\n`) is awaited.
    private var awaiting: (message: NATSMessage, headerBytes: Int, totalBytes: Int)?

    public init(maxControlLine: Int = 4096, maxPayload: Int = 64 << 20) {
        self.maxControlLine = maxControlLine
        self.maxPayload = maxPayload
    }

    /// Takes the bytes of one read and returns every operation they complete, in order.
    public mutating func parse(_ bytes: ByteBuffer) throws(NATSProtocolError) -> [NATSServerOp] {
        if var pending = buffer {
            var incoming = bytes
            pending.writeBuffer(&incoming)
            buffer = pending
        } else {
            buffer = bytes
        }
        var ops: [NATSServerOp] = []
        while let op = try next() { ops.append(op) }
        if buffer?.readableBytes == 0 { buffer = nil }
        return ops
    }

    private mutating func next() throws(NATSProtocolError) -> NATSServerOp? {
        while true {
            guard var b = buffer else { return nil }
            if let (message, headerBytes, totalBytes) = awaiting {
                guard b.readableBytes >= totalBytes + 2 else { return nil }
                var body = b.readSlice(length: totalBytes)!
                let end = b.readString(length: 2)
                buffer = b
                guard end == "\r\n" else {
                    throw NATSProtocolError("a NATS message on \(message.subject) is not followed by CRLF after its \(totalBytes) bytes")
                }
                awaiting = nil
                var m = message
                if headerBytes > 0 {
                    let head = body.readString(length: headerBytes) ?? ""
                    guard let headers = NATSHeaders.parse(head[...]) else {
                        throw NATSProtocolError("the headers of a NATS message on \(message.subject) do not start with NATS/1.0")
                    }
                    m.headers = headers
                }
                m.payload = body
                return .msg(m)
            }
            guard let newline = b.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                if b.readableBytes > maxControlLine {
                    throw NATSProtocolError("a NATS control line is longer than \(maxControlLine) bytes without an end")
                }
                return nil
            }
            let length = newline - b.readerIndex
            guard length <= maxControlLine else {
                throw NATSProtocolError("a NATS control line is \(length) bytes, more than \(maxControlLine)")
            }
            var line = b.readString(length: length)!
            b.moveReaderIndex(forwardBy: 1)
            buffer = b
            if line.hasSuffix("\r") { line.removeLast() }
            // nil: a MSG or HMSG line, whose payload is read next.
            if let op = try op(line) { return op }
        }
    }

    private mutating func op(_ line: String) throws(NATSProtocolError) -> NATSServerOp? {
        let verbEnd = line.firstIndex { $0 == " " || $0 == "\t" } ?? line.endIndex
        let verb = line[..<verbEnd].uppercased()
        let rest = line[verbEnd...].drop { $0 == " " || $0 == "\t" }
        switch verb {
        case "PING": return .ping
        case "PONG": return .pong
        case "+OK": return .ok
        case "-ERR":
            var text = rest.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("'"), text.hasSuffix("'"), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
            return .err(text)
        case "INFO":
            do {
                return .info(try JSONDecoder().decode(NATSServerInfo.self, from: Data(rest.utf8)))
            } catch {
                throw NATSProtocolError("the NATS server's INFO is not a JSON object it should be: \(error)")
            }
        case "MSG", "HMSG":
            let args = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let headers = verb == "HMSG"
            let counts = headers ? 2 : 1
            guard args.count == 2 + counts || args.count == 3 + counts,
                  let sid = Int(args[1]),
                  let total = Int(args[args.count - 1]), total >= 0 else {
                throw NATSProtocolError("a NATS \(verb) line is not `\(verb) <subject> <sid> [reply-to] \(headers ? "<header bytes> " : "")<bytes>`: \(line.prefix(200))")
            }
            let headerBytes = headers ? Int(args[args.count - 2]) ?? -1 : 0
            guard headerBytes >= 0, headerBytes <= total else {
                throw NATSProtocolError("a NATS HMSG line has header bytes that are not between 0 and its total: \(line.prefix(200))")
            }
            guard total <= maxPayload else {
                throw NATSProtocolError("a NATS message of \(total) bytes is larger than the \(maxPayload) this client takes")
            }
            let replyTo = args.count == 3 + counts ? String(args[2]) : nil
            awaiting = (NATSMessage(subject: String(args[0]), sid: sid, replyTo: replyTo, payload: ByteBuffer()), headerBytes, total)
            return nil
        default:
            throw NATSProtocolError("unknown NATS operation \(verb.prefix(20)) from the server: is this a NATS server?")
        }
    }
}
