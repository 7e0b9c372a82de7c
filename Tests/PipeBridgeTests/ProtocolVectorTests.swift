import FlowModel
import Foundation
import NIOCore
import Testing
@testable import PipeBridge

/// The shared protocol vectors (Tests/Fixtures/protocol-vectors.json), also
/// read by the Python and Node runtime tests, fed to the host's decoder one
/// byte at a time and in one large chunk.
@Suite struct ProtocolVectorTests {
    struct Vectors: Decodable {
        struct Valid: Decodable { var name: String; var input: String; var frames: [Expected] }
        struct Invalid: Decodable { var name: String; var input: String; var error: String; var maxFrameBytes: Int? }
        struct Expected: Decodable { var kind: String; var slot: Int?; var payload: String?; var count: Int?; var json: JSONValue? }
        var `protocol`: Int
        var valid: [Valid]
        var invalid: [Invalid]
    }

    static let vectors: Vectors = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/protocol-vectors.json").standardized
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()

    enum Feed: CaseIterable { case byteAtATime, oneChunk, threeByteChunks }

    /// Decodes `input` fed in the given way; returns the frames or the first error.
    static func decode(_ input: String, feed: Feed, maxFrameBytes: Int = PipeProtocol.defaultMaxFrameBytes) -> Result<[InboundFrame], FrameError> {
        var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        var buffer = ByteBuffer()
        var frames: [InboundFrame] = []
        let bytes = Array(input.utf8)
        let step = switch feed { case .byteAtATime: 1; case .oneChunk: max(1, bytes.count); case .threeByteChunks: 3 }
        var index = 0
        do {
            while index < bytes.count {
                buffer.writeBytes(bytes[index..<min(index + step, bytes.count)])
                index += step
                while let frame = try decoder.next(from: &buffer) {
                    // The host decodes control frames (never data): a bad one is a protocol error too.
                    if case .control(let bytes) = frame { _ = try ControlFrame.decode(bytes) }
                    frames.append(frame)
                }
            }
        } catch {
            return .failure(error)
        }
        #expect(buffer.readableBytes == 0, "nothing left over")
        return .success(frames)
    }

    static func matches(_ frame: InboundFrame, _ expected: Vectors.Expected) -> Bool {
        switch frame {
        case .data(let route, let payload):
            return expected.kind == "data" && expected.slot == route && String(buffer: payload) == expected.payload
        case .ack(let n):
            return expected.kind == "ack" && expected.count == n
        case .control(let bytes):
            return expected.kind == "control" && (try? JSONValue(parsing: Data(String(buffer: bytes).utf8))) == expected.json
        }
    }

    @Test func vectorsAreForThisProtocol() {
        #expect(Self.vectors.protocol == PipeProtocol.version)
        #expect(Self.vectors.valid.count >= 5)
        #expect(Self.vectors.invalid.count >= 7)
    }

    @Test(arguments: Feed.allCases)
    func validVectorsDecode(feed: Feed) {
        for vector in Self.vectors.valid {
            switch Self.decode(vector.input, feed: feed) {
            case .failure(let error):
                Issue.record("\(vector.name): unexpected \(error)")
            case .success(let frames):
                #expect(frames.count == vector.frames.count, "\(vector.name)")
                for (frame, expected) in zip(frames, vector.frames) {
                    #expect(Self.matches(frame, expected), "\(vector.name): \(frame) is not \(expected)")
                }
            }
        }
    }

    @Test(arguments: Feed.allCases)
    func invalidVectorsFailWithTheirCode(feed: Feed) {
        for vector in Self.vectors.invalid {
            let result = Self.decode(vector.input, feed: feed, maxFrameBytes: vector.maxFrameBytes ?? PipeProtocol.defaultMaxFrameBytes)
            switch result {
            case .success(let frames):
                Issue.record("\(vector.name): expected \(vector.error), decoded \(frames)")
            case .failure(let error):
                #expect(error.code.rawValue == vector.error, "\(vector.name): \(error)")
            }
        }
    }

    @Test func oversizeFrameIsRefusedBeforeItsNewlineArrives() {
        var decoder = FrameDecoder(maxFrameBytes: 1024)
        var buffer = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1025)
        #expect(throws: FrameError.self) { _ = try decoder.next(from: &buffer) }
    }

    @Test func largeChunkOfManyFrames() throws {
        var input = ByteBuffer()
        for i in 0..<10_000 { FrameEncoder.writeData(slot: i % 7, payload: ByteBuffer(string: "{\"i\":\(i)}"), into: &input) }
        var decoder = FrameDecoder(maxFrameBytes: 64)
        var frames: [InboundFrame] = []
        while let f = try decoder.next(from: &input) { frames.append(f) }
        #expect(frames.count == 10_000)
        guard case .data(let route, let payload) = frames[9_999] else { Issue.record("not data"); return }
        #expect(route == 9_999 % 7)
        #expect(String(buffer: payload) == "{\"i\":9999}")
    }

    /// Every control frame without fields of its own, as the runtimes read it (docs/protocol.md).
    @Test func eachConstantHostFrameIsOneJSONLine() throws {
        let expected: [(HostMessage, String)] = [
            (.stop, #"{"t":"stop"}"#), (.report, #"{"t":"report"}"#),
            (.mode(.host), #"{"t":"mode","via":"host"}"#), (.mode(.direct), #"{"t":"mode","via":"direct"}"#),
        ]
        for (message, line) in expected {
            var buffer = ByteBuffer()
            try FrameEncoder.write(message, into: &buffer)
            #expect(String(buffer: buffer) == line + "\n")
            #expect(try JSONValue(parsing: Data(line.utf8))["t"] != nil)
        }
    }

    @Test func encoderWritesWhatTheDecoderReads() throws {
        var buffer = ByteBuffer()
        for slot in [0, 9, 10, 123, 999_999_999] {
            FrameEncoder.writeData(slot: slot, payload: ByteBuffer(string: "[1,\"a b\"]"), into: &buffer)
        }
        try FrameEncoder.write(.stop, into: &buffer)
        #expect(String(buffer: buffer).hasPrefix("D0 [1,\"a b\"]\nD9 [1,\"a b\"]\nD10 "))
        var decoder = FrameDecoder(maxFrameBytes: 1024)
        var slots: [Int] = []
        var sawStop = false
        while let frame = try decoder.next(from: &buffer) {
            switch frame {
            case .data(let slot, _): slots.append(slot)
            case .control(let json): sawStop = String(buffer: json) == "{\"t\":\"stop\"}"
            case .ack: Issue.record("no acks written")
            }
        }
        #expect(slots == [0, 9, 10, 123, 999_999_999])
        #expect(sawStop)
    }
}
