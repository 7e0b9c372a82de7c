import Foundation
import NIOCore

/// One thing a NATS server sends (docs.nats.io, "Client Protocol").
public enum NATSServerOp: Sendable, Equatable {
    case info(NATSServerInfo)
    case msg(NATSMessage)
    case ping
    case pong
    case ok
    /// `-ERR '<text>'`: the text without its quotes.
    case err(String)
}

/// A message delivered to a subscription (`MSG` or `HMSG`).
public struct NATSMessage: Sendable, Equatable {
    public var subject: String
    public var sid: Int
    public var replyTo: String?
    /// Headers of an `HMSG` (nil for a `MSG`), in the order sent; a name may repeat.
    public var headers: NATSHeaders?
    public var payload: ByteBuffer

    public init(subject: String, sid: Int, replyTo: String? = nil, headers: NATSHeaders? = nil, payload: ByteBuffer) {
        self.subject = subject
        self.sid = sid
        self.replyTo = replyTo
        self.headers = headers
        self.payload = payload
    }
}

/// NATS message headers: `NATS/1.0[ <status>[ <description>]]` then `Name: value` lines.
public struct NATSHeaders: Sendable, Equatable {
    /// The status of a message from the server (`503`: no responders, `408`, `100`: idle heartbeat…).
    public var status: Int?
    public var statusDescription: String?
    public var fields: [(name: String, value: String)]

    public init(status: Int? = nil, statusDescription: String? = nil, fields: [(name: String, value: String)] = []) {
        self.status = status
        self.statusDescription = statusDescription
        self.fields = fields
    }

    /// The first value of `name` (compared without case).
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public static func == (l: Self, r: Self) -> Bool {
        l.status == r.status && l.statusDescription == r.statusDescription
            && l.fields.map(\.name) == r.fields.map(\.name) && l.fields.map(\.value) == r.fields.map(\.value)
    }

    /// The header block as sent: version line, fields, blank line.
    public func encoded() -> String {
        var text = "NATS/1.0"
        if let status { text += " \(status)" + (statusDescription.map { " \($0)" } ?? "") }
        text += "\r\n"
        for f in fields { text += "\(f.name): \(f.value)\r\n" }
        return text + "\r\n"
    }

    /// Parses a header block; nil when it does not start with `NATS/1.0`.
    public static func parse(_ text: Substring) -> NATSHeaders? {
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)[...]
        guard let first = lines.popFirst(), first.hasPrefix("NATS/1.0") else { return nil }
        var headers = NATSHeaders()
        let rest = first.dropFirst("NATS/1.0".count).drop { $0 == " " }
        if !rest.isEmpty {
            let parts = rest.split(separator: " ", maxSplits: 1)
            headers.status = Int(parts[0])
            if parts.count > 1 { headers.statusDescription = String(parts[1]) }
        }
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.fields.append((name, value))
        }
        return headers
    }
}
