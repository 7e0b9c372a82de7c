import FlowModel
import Foundation
import NIOCore
import NIOEmbedded
import PipeBridge
import RunnerProtocol
import Testing
@testable import RunnerHost

/// Commits and blame on the host's read path (a real `InstanceChannelHandler`
/// and `InstanceLink` on an embedded channel, no process): a commit counts
/// only with the ack after it, and a process that dies blames a message only
/// when it was alone in flight for that process's whole life.
@Suite(.timeLimit(.minutes(1))) struct CommitLedgerTests {
    struct Vectors: Decodable {
        struct Case: Decodable {
            var name: String
            var input: String
            var acked: Int
            var committed: [String: RuntimeMessage.ModuleStats]
        }
        var commits: [Case]
    }

    static let vectors: [Vectors.Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/protocol-vectors.json").standardized
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url)).commits
    }()

    final class Harness {
        let channel = EmbeddedChannel()
        let link: InstanceLink
        let dataPath: DataPath

        init() throws {
            dataPath = DataPath(loop: channel.embeddedEventLoop, onOutput: { _, _, _ in })
            let m = ModuleID("m")
            link = InstanceLink.standalone(dataPath: dataPath, flow: FlowID("f"), runtime: .python3,
                                           slots: [Endpoint(module: m, port: PortName("in"))], window: 16, queueBound: 100)
            let (_, continuation) = AsyncStream.makeStream(of: InstanceEvent.self)
            try channel.pipeline.syncOperations.addHandler(InstanceChannelHandler(link: link, maxFrameBytes: 1 << 20, events: { continuation.yield($0) }))
        }

        func read(_ text: String, chunk: Int) throws {
            let bytes = Array(text.utf8)
            var i = 0
            while i < bytes.count {
                try channel.writeInbound(ByteBuffer(bytes: bytes[i..<min(i + chunk, bytes.count)]))
                i += chunk
            }
        }

        func send(_ payloads: [String]) {
            for p in payloads { link.deliver(slot: 0, payload: ByteBuffer(string: p)) }
            dataPath.flushDirty()
        }
    }

    @Test(arguments: [1, 3, 1 << 20])
    func theSharedVectorsCommitOnlyWithTheAckAfterThem(chunk: Int) throws {
        #expect(Self.vectors.count >= 4)
        for vector in Self.vectors {
            let h = try Harness()
            h.link.writer.attach(h.channel)
            h.send((0..<vector.acked + 2).map { "\($0)" })
            try h.read(vector.input, chunk: chunk)
            let end = h.link.writer.detach()
            let expected = Dictionary(uniqueKeysWithValues: vector.committed.map { (ModuleID($0.key), $0.value) })
            #expect(end.committed == expected, "\(vector.name)")
            #expect(end.culprit == nil, "\(vector.name)")
            // Delivered again: exactly the messages after the acked ones.
            h.link.writer.attach(h.channel)
            #expect(h.link.writer.queuedCount == 2, "\(vector.name)")
        }
    }

    @Test func acksAndCommitsReadAfterTheProcessWasDetachedAreNotItsSuccessors() throws {
        let h = try Harness()
        h.link.writer.attach(h.channel)
        h.send(["1"])
        _ = h.link.writer.detach()
        try h.read("{\"t\":\"commit\",\"modules\":{\"m\":{\"in\":9,\"out\":9,\"errors\":0,\"state\":9}}}\nA1\n", chunk: 1 << 20)
        h.link.writer.attach(h.channel)
        #expect(h.link.writer.queuedCount == 1, "the stale ack acknowledged nothing")
        #expect(h.link.writer.detach().committed.isEmpty, "the stale commit was not kept")
    }

    @Test func anOutsideKillBlamesNoOne_andASuspectAloneInAFreshProcessIsTheCulprit() throws {
        let h = try Harness()
        h.link.writer.attach(h.channel)
        h.send(["\"a\"", "\"b\"", "\"c\""])
        #expect(h.link.writer.detach().culprit == nil, "first death: three in flight, no one to blame")
        // Careful redelivery: one at a time. "a" is acked, then the process is killed with "b" in flight.
        h.link.writer.attach(h.channel)
        h.link.ack(1, life: h.link.writer.life)
        #expect(h.link.writer.detach().culprit == nil, "\"b\" was alone, but not for the whole life of the process")
        // "b" is first, alone for the whole life of a fresh process, and was in flight at a death before.
        h.link.writer.attach(h.channel)
        let culprit = h.link.writer.detach().culprit
        #expect(culprit.map { String(buffer: $0.payload) } == "\"b\"")
        h.link.writer.attach(h.channel)
        #expect(h.link.writer.queuedCount == 1, "\"c\" is still to be delivered")
    }

    @Test func aMessageAloneInAFreshProcessIsNotBlamedForAFirstDeath() throws {
        let h = try Harness()
        h.link.writer.attach(h.channel)
        h.send(["\"only\""])
        #expect(h.link.writer.detach().culprit == nil, "not a suspect yet: an outside kill costs no message")
        h.link.writer.attach(h.channel)
        #expect(h.link.writer.queuedCount == 1)
    }

    @Test func aTimeLimitBlamesTheMessageAloneInFlight_andSeveralBecomeSuspects() throws {
        let h = try Harness()
        h.link.writer.attach(h.channel)
        h.send(["\"x\""])
        #expect(h.link.writer.detach(timedOut: true).culprit.map { String(buffer: $0.payload) } == "\"x\"")
        h.link.writer.attach(h.channel)
        h.send(["\"y\"", "\"z\""])
        #expect(h.link.writer.detach(timedOut: true).culprit == nil, "two in flight: which one hung is not known yet")
        h.link.writer.attach(h.channel)
        h.link.ack(1, life: h.link.writer.life)  // "y" done; "z" alone in flight
        #expect(h.link.writer.detach(timedOut: true).culprit.map { String(buffer: $0.payload) } == "\"z\"")
    }

    @Test func theScannerSplitsACompactCommitWithoutDecoding_andLeavesOtherFormsToTheDecoder() {
        let frame = #"{"t":"commit","modules":{"a":{"in":1,"out":0,"errors":0,"state":{"s":"}{\"state\":[","k":[1,{"x":2}]}},"b-2":{"in":3,"out":3,"errors":0,"note":"state"}}}"#
        let entries = CommitScanner.entries(ByteBuffer(string: frame))
        #expect(entries?.map(\.module) == ["a", "b-2"])
        #expect(entries?.map(\.hasState) == [true, false], "a \"state\" inside a string or as a value is not the key")
        #expect(entries.map { $0.map { String(buffer: $0.json) } } == [
            #"{"in":1,"out":0,"errors":0,"state":{"s":"}{\"state\":[","k":[1,{"x":2}]}}"#,
            #"{"in":3,"out":3,"errors":0,"note":"state"}"#,
        ])
        #expect(CommitScanner.entries(ByteBuffer(string: #"{"t":"commit","modules":{}}"#)) == [])
        #expect(CommitScanner.entries(ByteBuffer(string: #"{"t": "commit", "modules": {}}"#)) == nil, "not compact: decoded instead")
        #expect(CommitScanner.entries(ByteBuffer(string: #"{"t":"commit","modules":{"a":{"in":1}}} "#)) == nil)
        #expect(CommitScanner.entries(ByteBuffer(string: #"{"t":"stats","modules":{}}"#)) == nil)
    }

    @Test func aCommitInAnotherJSONFormIsDecodedAndKeptTheSameWay() throws {
        let h = try Harness()
        h.link.writer.attach(h.channel)
        h.send(["1", "2"])
        try h.read("{ \"t\": \"commit\", \"modules\": {\"m\": {\"in\": 1, \"out\": 1, \"errors\": 0, \"state\": {\"n\": 1}}}}\nA1\n"
                   + "{\"t\":\"commit\",\"modules\":{\"m\":{\"in\":2,\"out\":2,\"errors\":0}}}\nA2\n", chunk: 5)
        #expect(h.link.writer.detach().committed == [ModuleID("m"): .init(in: 2, out: 2, errors: 0, state: .object(["n": .int(1)]))])
    }
}
