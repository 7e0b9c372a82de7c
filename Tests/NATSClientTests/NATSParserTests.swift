import NIOCore
import Testing
@testable import NATSClient

/// The parser against recorded server output, read in every split: each
/// stream is cut at every byte boundary (two reads), and read one byte at a time.
@Suite struct NATSParserTests {
    static let info = #"INFO {"server_id":"NDX","version":"2.9.10","max_payload":1048576,"headers":true,"jetstream":true,"connect_urls":["10.0.0.2:4222"]}"# + "\r\n"
    static let stream = info
        + "PING\r\n+OK\r\n"
        + "MSG flows.a 7 5\r\nhello\r\n"
        + "msg flows.b 8 _INBOX.x.1 0\r\n\r\n"
        + "MSG bin 9 6\r\na\r\nb\nc\r\n"
        + "HMSG js.x 3 _INBOX.r 20 25\r\nNATS/1.0\r\nK: v 1\r\n\r\nabcde\r\n"
        + "HMSG _INBOX.q 4 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
        + "PONG\r\n"
        + "-ERR 'Permissions Violation for Publish to \"x\"'\r\n"

    static func expected() -> [NATSServerOp] {
        [
            .ping, .ok,
            .msg(NATSMessage(subject: "flows.a", sid: 7, payload: ByteBuffer(string: "hello"))),
            .msg(NATSMessage(subject: "flows.b", sid: 8, replyTo: "_INBOX.x.1", payload: ByteBuffer())),
            .msg(NATSMessage(subject: "bin", sid: 9, payload: ByteBuffer(string: "a\r\nb\nc"))),
            .msg(NATSMessage(subject: "js.x", sid: 3, replyTo: "_INBOX.r", headers: NATSHeaders(fields: [("K", "v 1")]),
                             payload: ByteBuffer(string: "abcde"))),
            .msg(NATSMessage(subject: "_INBOX.q", sid: 4, headers: NATSHeaders(status: 503), payload: ByteBuffer())),
            .pong,
            .err("Permissions Violation for Publish to \"x\""),
        ]
    }

    static func parseAll(_ chunks: [String]) throws -> [NATSServerOp] {
        var parser = NATSParser()
        var ops: [NATSServerOp] = []
        for c in chunks { ops += try parser.parse(ByteBuffer(string: c)) }
        return ops
    }

    @Test func everySplitOfARecordedStreamGivesTheSameOperations() throws {
        let bytes = Array(Self.stream.utf8)
        for cut in 0...bytes.count {
            let a = String(decoding: bytes[..<cut], as: UTF8.self), b = String(decoding: bytes[cut...], as: UTF8.self)
            let ops = try Self.parseAll([a, b])
            guard case .info(let info) = ops.first else { Issue.record("cut \(cut): no INFO first"); return }
            #expect(info.jetStream && info.headers && info.maxPayload == 1_048_576 && info.connectURLs == ["10.0.0.2:4222"])
            #expect(Array(ops.dropFirst()) == Self.expected(), "cut at byte \(cut)")
        }
        let oneByOne = try Self.parseAll(bytes.map { String(decoding: [$0], as: UTF8.self) })
        #expect(Array(oneByOne.dropFirst()) == Self.expected())
    }

    @Test func whatIsNotTheProtocolIsOneErrorNamingIt() {
        let cases: [(String, String)] = [
            ("HELLO\r\n", "unknown NATS operation HELLO"),
            ("MSG a b 3\r\nabc\r\n", "MSG line is not"),
            ("MSG a 1 3\r\nabcX\r\n", "not followed by CRLF"),
            ("HMSG a 1 9 4\r\nNATS/1.0\r\n\r\n", "header bytes"),
            ("HMSG a 1 4 6\r\nXXXXab\r\n", "do not start with NATS/1.0"),
            ("INFO {nope\r\n", "INFO is not a JSON object"),
        ]
        for (input, fragment) in cases {
            #expect {
                _ = try Self.parseAll([input])
            } throws: { error in
                "\(error)".contains(fragment)
            }
        }
    }

    @Test func boundsOnControlLinesAndPayloads() throws {
        var parser = NATSParser(maxControlLine: 64, maxPayload: 10)
        #expect(throws: NATSProtocolError.self) { _ = try parser.parse(ByteBuffer(string: String(repeating: "x", count: 65))) }
        var small = NATSParser(maxControlLine: 64, maxPayload: 10)
        #expect(throws: NATSProtocolError.self) { _ = try small.parse(ByteBuffer(string: "MSG a 1 11\r\n")) }
        var fine = NATSParser(maxControlLine: 64, maxPayload: 10)
        #expect(try fine.parse(ByteBuffer(string: "MSG a 1 10\r\n0123456789\r\n")).count == 1)
    }

    @Test func clientOperationsAreWrittenAsTheProtocolSaysAndSubjectsAreChecked() {
        func text(_ op: NATSClientOp) -> String {
            var b = ByteBuffer()
            op.write(into: &b)
            return String(buffer: b)
        }
        #expect(text(.pub(subject: "a.b", replyTo: nil, payload: ByteBuffer(string: "hi"))) == "PUB a.b 2\r\nhi\r\n")
        #expect(text(.pub(subject: "a", replyTo: "_INBOX.1", payload: ByteBuffer())) == "PUB a _INBOX.1 0\r\n\r\n")
        #expect(text(.hpub(subject: "a", replyTo: nil, headers: NATSHeaders(fields: [("Nats-Msg-Id", "7")]), payload: ByteBuffer(string: "x")))
                == "HPUB a 28 29\r\nNATS/1.0\r\nNats-Msg-Id: 7\r\n\r\nx\r\n")
        #expect(text(.sub(subject: "a.*", queue: "q", sid: 3)) == "SUB a.* q 3\r\n")
        #expect(text(.unsub(sid: 3, max: nil)) == "UNSUB 3\r\n")
        #expect(NATSClientOp.isValid(subject: "flows.>", wildcards: true))
        #expect(!NATSClientOp.isValid(subject: "flows.>", wildcards: false))
        #expect(!NATSClientOp.isValid(subject: "a..b", wildcards: true))
        #expect(!NATSClientOp.isValid(subject: "a b", wildcards: true))
        #expect(!NATSClientOp.isValid(subject: ">.a", wildcards: true))
    }

    @Test func urlsAreParsedOrRefusedByName() throws {
        let a = try NATSServerAddress(parsing: "nats://alice:s3cret@127.0.0.1:4333")
        #expect(a.host == "127.0.0.1" && a.port == 4333 && a.user == "alice" && a.password == "s3cret" && !a.tls)
        #expect(try NATSServerAddress(parsing: "tok@localhost").token == "tok")
        #expect(try NATSServerAddress(parsing: "localhost").port == 4222)
        #expect(try NATSServerAddress.list("nats://a:1,nats://b:2").map(\.port) == [1, 2])
        #expect(throws: NATSError.badURL("http://x")) { try NATSServerAddress(parsing: "http://x") }
        #expect(throws: NATSError.self) { try NATSServerAddress(parsing: "nats://host:99999") }
    }
}
