import FuzzSupport
import NIOCore
import Testing
@testable import PipeBridge

/// Bounded fuzzing of the host's frame decoder, which reads whatever a
/// runtime process writes: streams of valid frames mixed with garbage and
/// over-long lines, cut into random reads. The decoder must give the same
/// frames and the same first error as a plain line-by-line reading of
/// docs/protocol.md, whatever the cuts; never hold more than the frame limit
/// of an unfinished line; and describe every error on one line.
@Suite(.timeLimit(.minutes(1))) struct FrameDecoderFuzzTests {
    enum Frame: Equatable {
        case data(route: Int, payload: [UInt8])
        case ack(Int)
        case control([UInt8])
    }

    @Test func randomStreamsCutAnywhereDecodeAsTheirLinesSay() async {
        let run = FuzzRun(name: "frame-decoder", cases: 300)
        let failures = await run.run { seed in
            var g = SeededGenerator(seed: seed)
            // The limit's logic does not depend on its size: small limits keep the cases fast.
            let maxFrameBytes = g.pick([8, 40, 300, 4096])
            let stream = Self.stream(using: &g, maxFrameBytes: maxFrameBytes)
            let expected = Self.reference(stream, maxFrameBytes: maxFrameBytes)
            // One byte at a time too, for streams small enough to do it quickly.
            let feeds = [Self.cuts(stream.count, using: &g), [max(1, stream.count)]] + (stream.count <= 16_384 ? [[1]] : [])
            for cuts in feeds {
                let got = Self.decode(stream, cuts: cuts, maxFrameBytes: maxFrameBytes)
                if let problem = got.problem { return problem }
                if got.frames != expected.frames || got.error != expected.error {
                    return "cuts \(cuts.prefix(8)): got \(got.frames.count) frames and \(got.error?.rawValue ?? "no error"), "
                        + "expected \(expected.frames.count) and \(expected.error?.rawValue ?? "no error")"
                }
                if got.error == nil, got.leftover != expected.leftover {
                    return "left \(got.leftover) bytes unread, expected \(expected.leftover)"
                }
            }
            return nil
        }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
    }

    // MARK: the decoder, fed in reads of the given sizes (cycled)

    struct Decoded {
        var frames: [Frame] = []
        var error: FrameError.Code?
        var leftover = 0
        var problem: String?
    }

    static func decode(_ bytes: [UInt8], cuts: [Int], maxFrameBytes: Int) -> Decoded {
        var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        var buffer = ByteBuffer()
        var out = Decoded()
        var index = 0, cut = 0
        repeat {
            let size = cuts[cut % cuts.count]
            cut += 1
            buffer.writeBytes(bytes[index..<min(index + size, bytes.count)])
            index += size
            do {
                while let frame = try decoder.next(from: &buffer) {
                    switch frame {
                    case .data(let route, let payload): out.frames.append(.data(route: route, payload: Array(payload.readableBytesView)))
                    case .ack(let n): out.frames.append(.ack(n))
                    case .control(let line): out.frames.append(.control(Array(line.readableBytesView)))
                    }
                }
            } catch {
                out.error = error.code
                if error.description.contains(where: \.isNewline) || error.detail.isEmpty {
                    out.problem = "error is not one line with a detail: \(error.description.debugDescription)"
                }
                return out
            }
            // An unfinished line is never held past the limit.
            if buffer.readableBytes > maxFrameBytes {
                out.problem = "holds \(buffer.readableBytes) bytes of an unfinished line, over the limit of \(maxFrameBytes)"
                return out
            }
        } while index < bytes.count
        out.leftover = buffer.readableBytes
        return out
    }

    // MARK: the reference: docs/protocol.md read line by line

    static func reference(_ bytes: [UInt8], maxFrameBytes: Int) -> Decoded {
        var out = Decoded()
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        let tail = lines.removeLast()  // after the last newline: unfinished
        for line in lines {
            if line.count > maxFrameBytes { out.error = .frameTooLarge; return out }
            switch header(line) {
            case .success(let frame): out.frames.append(frame)
            case .failure(let refused): out.error = refused.code; return out
            }
        }
        if tail.count > maxFrameBytes { out.error = .frameTooLarge; return out }
        out.leftover = tail.count
        return out
    }

    /// One line: `D<slot> <payload>`, `A<count>` or `{…}`; numbers are 1-9
    /// digits without a leading zero; a payload is at least one byte.
    struct Refused: Error {
        var code: FrameError.Code
        init(_ code: FrameError.Code) { self.code = code }
    }

    static func header(_ line: [UInt8]) -> Result<Frame, Refused> {
        guard let kind = line.first else { return .failure(Refused(.emptyFrame)) }
        /// 1-9 digits after the kind, no leading zero: the value and the index after them.
        func number() -> (value: Int, end: Int)? {
            let digits = line.dropFirst().prefix { $0 >= 0x30 && $0 <= 0x39 }
            guard (1...9).contains(digits.count), digits.count == 1 || digits.first != 0x30 else { return nil }
            return (Int(String(decoding: digits, as: UTF8.self))!, 1 + digits.count)
        }
        switch kind {
        case UInt8(ascii: "D"):
            guard let (slot, end) = number() else { return .failure(Refused(.badSlot)) }
            let rest = Array(line[end...])
            if rest.isEmpty || rest == [0x20] { return .failure(Refused(.emptyPayload)) }
            guard rest[0] == 0x20 else { return .failure(Refused(.badSlot)) }
            return .success(.data(route: slot, payload: Array(rest.dropFirst())))
        case UInt8(ascii: "A"):
            guard let (count, end) = number() else { return .failure(Refused(.badCount)) }
            return end == line.count ? .success(.ack(count)) : .failure(Refused(.badCount))
        case UInt8(ascii: "{"):
            return .success(.control(line))
        default:
            return .failure(Refused(.unknownKind))
        }
    }

    // MARK: generator

    /// Mostly valid frames, with garbage lines, near-miss headers and over-long lines mixed in.
    static func stream(using g: inout SeededGenerator, maxFrameBytes: Int) -> [UInt8] {
        var out: [UInt8] = []
        let lines = Int.random(in: 0...g.pick([3, 20, 200]), using: &g)
        for _ in 0..<lines {
            let wrong = g.chance(0.03)
            switch Int.random(in: 0..<10, using: &g) {
            case 0...4:
                out += Array("D\(slot(using: &g)) ".utf8) + payload(using: &g, max: maxFrameBytes)
            case 5, 6:
                out += Array("A\(Int.random(in: 0...g.pick([9, 1024, 999_999_999]), using: &g))".utf8)
            case 7:
                out += Array("{\"t\":\"log\",\"text\":\"".utf8) + payload(using: &g, max: maxFrameBytes / 2) + Array("\"}".utf8)
            case 8:
                out += g.pick(["", "D", "D ", "D1", "D1 ", "D01 x", "Dx y", "D1234567890 x", "A", "A01", "A1x", "A-1", "X", "d1 x", " D1 x", "A1 "]).utf8
            default:
                out += payload(using: &g, max: maxFrameBytes * 2)
            }
            if wrong, !out.isEmpty { out.removeLast() }  // two lines run together
            out.append(UInt8(ascii: "\n"))
        }
        if g.chance(0.5) { out += Array("D7 unfinished".utf8) }
        if g.chance(0.1) { out += [UInt8](repeating: UInt8(ascii: "x"), count: maxFrameBytes + Int.random(in: -2...2, using: &g)) }
        return out
    }

    static func slot(using g: inout SeededGenerator) -> Int {
        g.pick([0, 1, 9, 10, 99, Int.random(in: 0...999_999_999, using: &g)])
    }

    /// Bytes without a newline; sometimes empty, sometimes about the limit, now and then over it.
    static func payload(using g: inout SeededGenerator, max: Int) -> [UInt8] {
        let length = switch Int.random(in: 0..<100, using: &g) {
        case 0: Int.random(in: 0...max * 2, using: &g)
        case 1...4: Swift.max(0, max + Int.random(in: -6...2, using: &g))
        default: Int.random(in: 0...Swift.min(max, 64), using: &g)
        }
        return (0..<length).map { _ in
            let b = g.chance(0.8) ? UInt8.random(in: 0x20...0x7E, using: &g) : UInt8.random(in: 0...255, using: &g)
            return b == 0x0A ? 0x20 : b
        }
    }

    /// Read sizes: mostly small, some large.
    static func cuts(_ total: Int, using g: inout SeededGenerator) -> [Int] {
        (0..<Int.random(in: 1...8, using: &g)).map { _ in g.chance(0.7) ? Int.random(in: 1...16, using: &g) : Int.random(in: 1...max(1, total), using: &g) }
    }
}
