import FlowModel
import Foundation
import FuzzSupport
import Testing

/// The one-pass parser every client's JSON goes through (issue 20, hole 3):
/// it agrees with Foundation on what is JSON, bounds nesting with a clear
/// error, and never tries types in turn.
@Suite struct JSONParserTests {
    func nested(_ depth: Int, open: String = "[", close: String = "]", inner: String = "1") -> String {
        String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)
    }

    @Test func agreesWithFoundationOnRandomAndMutatedText() {
        var g = SeededGenerator(seed: 20)
        for _ in 0..<3000 {
            let value = JSONFuzz.value(using: &g, depth: 4)
            let text = Array(value.jsonText.utf8)
            #expect((try? JSONValue(parsing: text)).map { same($0, value) } == true, "\(value.jsonText.prefix(200))")
            let mutated = JSONFuzz.mutate(text, using: &g)
            let ours = (try? JSONValue(parsing: mutated)) != nil
            let foundation = (try? JSONSerialization.jsonObject(with: Data(mutated), options: [.fragmentsAllowed])) != nil
            // Never more lenient than Foundation (which also takes a trailing comma; we do not).
            #expect(!ours || foundation, "\(String(decoding: mutated.prefix(200), as: UTF8.self).debugDescription): ours \(ours), Foundation \(foundation) \((try? JSONValue(parsing: mutated)).debugDescription) \(String(describing: Result { try JSONValue(parsing: mutated) }))")
            // What parses, the splice check passes (it does not bound numbers' range, only their syntax).
            #expect(!ours || JSONScan.isOneValue(String(decoding: mutated, as: UTF8.self)),
                    "scan and parse disagree on \(String(decoding: mutated.prefix(200), as: UTF8.self).debugDescription)")
        }
    }

    /// Equal as JSON: numbers by value (`1` and `1.0`, `0` and `-0`).
    func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)): return x.count == y.count && x.allSatisfy { k, v in y[k].map { same(v, $0) } ?? false }
        default: return a == b
        }
    }

    @Test func numbersStringsAndEscapes() throws {
        #expect(try JSONValue(parsing: Data("[1,-0,1.5,1e3,-2E-2,9223372036854775807,9223372036854775808]".utf8))
                == [1, 0, 1.5, 1000.0, -0.02, .int(Int.max), .double(9223372036854775808)])
        #expect(try JSONValue(parsing: Data(#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#.utf8)) == "a\"b\\c/d\né😀")
        #expect(try JSONValue(parsing: Data(#"{"a":1,"a":2}"#.utf8)) == ["a": 2])
        for bad in ["", "1,\"type\":\"x\"", "[1,]", "{\"a\"}", "01", "1.", "-", "\"\\x\"", "\"\\ud800\"", "[1] x", "nul", "\"a\nb\"", "{1:2}", "\u{FEFF}"] {
            #expect(throws: JSONParseError.self, "\(bad.debugDescription)") { try JSONValue(parsing: Data(bad.utf8)) }
            #expect(!JSONScan.isOneValue(bad) || bad == "\"\\ud800\"", "\(bad.debugDescription)")
        }
    }

    @Test func longStringsTakeTheFastPathWithTheSameRules() throws {
        let long = String(repeating: "ab", count: 5_000)
        #expect(try JSONValue(parsing: Data("[\"\(long)\"]".utf8)) == [.string(long)])
        #expect(try JSONValue(parsing: Data("\"\(long)\\n\(long)é\"".utf8)) == .string(long + "\n" + long + "é"))
        do {
            _ = try JSONValue(parsing: Data("\"\(long)\u{01}\(long)\"".utf8))
            Issue.record("a control character in a long string parsed")
        } catch {
            #expect(error.offset == 1 + long.utf8.count, "\(error)")
            #expect("\(error)".contains("control character"))
        }
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: Data(("\"" + long).utf8)) }
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: Data([0x22] + Array(long.utf8) + [0xFF, 0x22])) }
    }

    @Test func envelopesNestAtMost64AndSayWhere() throws {
        _ = try JSONValue(parsing: Data(nested(64).utf8))
        do {
            _ = try JSONValue(parsing: Data(nested(65).utf8))
            Issue.record("65 levels parsed")
        } catch {
            #expect(error.kind == .tooDeep)
            #expect(error.offset == 64)
            #expect("\(error)".contains("nested deeper than 64 levels"), "\(error)")
        }
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: Data(nested(100_000).utf8)) }
    }

    @Test func userValuesGetTheirOwnBudgetFromWhereTheyStart() throws {
        // `state`, `config`, `payload`… may nest 512 deep inside an envelope, wherever they sit.
        let deepState = "{\"t\":\"states\",\"modules\":[{\"module\":\"m\",\"state\":\(nested(500))}]}"
        _ = try JSONValue(parsing: Data(deepState.utf8))
        let tooDeep = "{\"payload\":\(nested(513))}"
        do {
            _ = try JSONValue(parsing: Data(tooDeep.utf8))
            Issue.record("a 513-deep value parsed")
        } catch {
            #expect("\(error)".contains("a value nested deeper than 512 levels"), "\(error)")
        }
        // Any other key is envelope.
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: Data("{\"other\":\(nested(100))}".utf8)) }
    }

    @Test func decodingTypedMessagesTakesJSONValueFieldsAsParsed() throws {
        struct Message: Decodable, Equatable {
            var name: String
            var gen: Int
            var state: JSONValue
            var when: Date?
            var tags: [String]
        }
        let text = "{\"name\":\"m\",\"gen\":3,\"state\":\(nested(400, open: "{\"a\":", close: "}")),\"when\":1764163200123,\"tags\":[\"x\"]}"
        let m = try JSONValueDecoder().decode(Message.self, from: Data(text.utf8))
        #expect(m.gen == 3 && m.tags == ["x"])
        #expect(m.when == Date(timeIntervalSince1970: 1764163200.123))
        var depth = 0
        var v = m.state
        while case .object(let o) = v, let inner = o["a"] { depth += 1; v = inner }
        #expect(depth == 400)
        #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(Message.self, from: Data("{\"name\":\"m\",\"gen\":\"3\",\"state\":1,\"tags\":[]}".utf8)) }
        #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(Message.self, from: Data("{\"name\":\"m\",\"gen\":3.5,\"state\":1,\"tags\":[]}".utf8)) }
        #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(Message.self, from: Data("{\"gen\":3,\"state\":1,\"tags\":[]}".utf8)) }
    }
}
