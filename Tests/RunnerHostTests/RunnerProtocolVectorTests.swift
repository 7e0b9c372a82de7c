import FlowModel
import Foundation
import NIOCore
import RunnerProtocol
import Testing
@testable import RunnerHost

/// The shared runner-protocol vectors (Tests/Fixtures/runner-protocol-vectors.json),
/// which the browser runner's tests will read too.
@Suite struct RunnerProtocolVectorTests {
    struct Vectors: Decodable {
        struct Messages: Decodable { var valid: [ValidMessage]; var invalid: [InvalidMessage] }
        struct ValidMessage: Decodable { var name: String; var from: String; var json: JSONValue; var meaning: [String: JSONValue] }
        struct InvalidMessage: Decodable { var name: String; var from: String; var text: String; var error: String; var maxMessageBytes: Int? }
        struct Batches: Decodable { var valid: [ValidBatch]; var invalid: [InvalidBatch] }
        struct Header: Decodable, Equatable { var from: String; var fromSession: Int; var to: String; var toSession: Int; var firstSeq: Int; var recv: Int; var ack: Int; var refused: [Int]? }
        struct Frame: Decodable, Equatable { var gen: Int; var flow: String; var module: String; var port: String; var payload: String }
        struct ValidBatch: Decodable { var name: String; var input: String; var header: Header; var frames: [Frame] }
        struct InvalidBatch: Decodable { var name: String; var input: String; var error: String; var maxFrameBytes: Int? }
        var `protocol`: Int
        var messages: Messages
        var batches: Batches
    }

    static let vectors: Vectors = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/runner-protocol-vectors.json").standardized
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()

    /// Decodes as a message from `from`; returns what it means and its JSON written again.
    static func read(_ text: Data, from: String, maxBytes: Int = RunnerProtocol.defaultMaxMessageBytes) throws(RunnerProtocolError) -> (meaning: [String: JSONValue], again: Data) {
        if from == "runner" {
            let m = try RunnerMessage.decode(text, maxBytes: maxBytes)
            var meaning: [String: JSONValue] = ["t": .string(m.type)]
            switch m {
            case .reply(let id, let reply): meaning["id"] = .int(id); meaning["kind"] = .string(reply.wireKind)
            case .event(let event): meaning["type"] = .string(event.wireType)
            default: break
            }
            return (meaning, m.encoded())
        } else {
            let m = try DispatcherMessage.decode(text, maxBytes: maxBytes)
            var meaning: [String: JSONValue] = ["t": .string(m.type)]
            if case .command(let id, let command) = m { meaning["id"] = .int(id); meaning["op"] = .string(command.op) }
            return (meaning, m.encoded())
        }
    }

    @Test func vectorsAreForThisProtocol() {
        #expect(Self.vectors.protocol == RunnerProtocol.version)
        #expect(Self.vectors.messages.valid.count >= 30)
        #expect(Set(Self.vectors.messages.invalid.map(\.error)).count >= 5)
        #expect(Self.vectors.batches.invalid.count >= 10)
    }

    @Test func validMessagesDecodeToTheirMeaningAndWriteBackTheSame() throws {
        for vector in Self.vectors.messages.valid {
            do {
                let (meaning, again) = try Self.read(Data(vector.json.jsonText.utf8), from: vector.from)
                #expect(meaning == vector.meaning, "\(vector.name)")
                let reparsed = try JSONValue(parsing: again)
                #expect(reparsed == vector.json, "\(vector.name): wrote \(String(decoding: again, as: UTF8.self))")
            } catch {
                Issue.record("\(vector.name): \(error)")
            }
        }
    }

    @Test func invalidMessagesFailWithTheirCode() {
        for vector in Self.vectors.messages.invalid {
            do {
                let (meaning, _) = try Self.read(Data(vector.text.utf8), from: vector.from, maxBytes: vector.maxMessageBytes ?? RunnerProtocol.defaultMaxMessageBytes)
                Issue.record("\(vector.name): expected \(vector.error), read \(meaning)")
            } catch {
                #expect(error.code.rawValue == vector.error, "\(vector.name): \(error)")
            }
        }
    }

    @Test func validBatchesDecodeWithoutTouchingPayloads() throws {
        for vector in Self.vectors.batches.valid {
            let message = ByteBuffer(string: vector.input)
            do {
                let batch = try DataBatchCodec.decode(message)
                let h = batch.header
                #expect(Vectors.Header(from: h.from.runner.rawValue, fromSession: h.from.session, to: h.to.runner.rawValue,
                                       toSession: h.to.session, firstSeq: h.firstSeq, recv: h.recv, ack: h.ack,
                                       refused: h.refused.isEmpty ? nil : h.refused) == vector.header, "\(vector.name)")
                #expect(try DataBatchCodec.readHeader(message) == h, "\(vector.name): the header alone reads the same")
                let frames = batch.frames.map {
                    Vectors.Frame(gen: $0.gen, flow: $0.flow.rawValue, module: $0.module.rawValue, port: $0.port.rawValue, payload: String(buffer: $0.payload))
                }
                #expect(frames == vector.frames, "\(vector.name)")
                #expect(DataBatchCodec.encode(batch) == message, "\(vector.name): the writer gives the same bytes")
            } catch {
                Issue.record("\(vector.name): \(error)")
            }
        }
    }

    @Test func invalidBatchesFailWithTheirCode() {
        for vector in Self.vectors.batches.invalid {
            do {
                let batch = try DataBatchCodec.decode(ByteBuffer(string: vector.input), maxFrameBytes: vector.maxFrameBytes ?? RunnerProtocol.defaultMaxFrameBytes)
                Issue.record("\(vector.name): expected \(vector.error), read \(batch)")
            } catch {
                #expect(error.code.rawValue == vector.error, "\(vector.name): \(error)")
            }
        }
    }
}
