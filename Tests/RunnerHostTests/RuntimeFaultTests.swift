import FlowModel
import Foundation
import RunnerProtocol
import Testing
@testable import PipeBridge
@testable import RunnerHost

/// A stand-in Python runtime that speaks the protocol until its module's code
/// tells it to misbehave: "garbage" writes a frame of an unknown kind,
/// "oversize" a frame over the limit, "protocol2" says hello with protocol 2.
let fakeRuntime = #"""
import json, os, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
out = os.open(args["--out"], os.O_WRONLY)
inp = open(args["--in"], "rb", buffering=0)
def send(line): os.write(out, line.encode() + b"\n")
mode = None
buf = b""
def frames():
    global buf
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line
        chunk = inp.read(65536)
        if not chunk: return
        buf += chunk
hello_protocol = 1
for line in frames():
    if line.startswith(b"{"):
        msg = json.loads(line)
        if msg["t"] == "configure":
            mode = msg["modules"][0]["code"]
            send(json.dumps({"t": "configured", "modules": {m["id"]: {"ok": True} for m in msg["modules"]}}))
        elif msg["t"] == "stop":
            send('{"t":"bye"}'); sys.exit(0)
    elif line.startswith(b"D"):
        if mode == "garbage": send("X this is not a frame")
        elif mode == "oversize": send("D0 " + "1" * 10000)
        else: send("A1")
    if mode is None: pass
"""#


@Suite(.timeLimit(.minutes(2))) struct RuntimeFaultTests {
    /// A runtimes directory whose python3 runtime is `script` (hello included) and whose node runtime is the real one.
    static func fakeRuntimes(_ body: String, protocolVersion: Int = 1) throws -> String {
        let dir = NSTemporaryDirectory() + "polyflow-fake-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/python3", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/node", withDestinationPath: RunnerHarness.runtimesDirectory + "/node")
        let hello = #"os.write(out, (json.dumps({"t": "hello", "protocol": \#(protocolVersion), "runtime": "python3", "name": "Fake", "version": "0", "pid": os.getpid()}) + "\n").encode())"#
        let script = body.replacingOccurrences(of: "hello_protocol = 1", with: hello)
        try script.write(toFile: dir + "/python3/polyflow_runtime.py", atomically: true, encoding: .utf8)
        return dir
    }

    func failedReasons(_ events: [RunnerEvent], _ flow: String) -> [String] {
        events.compactMap {
            if case .instanceState(let f, _, .failed, _, _, let reason) = $0, f.rawValue == flow { return reason }
            return nil
        }
    }

    func readyCount(_ events: [RunnerEvent], _ flow: String) -> Int {
        events.filter { if case .instanceState(let f, _, .ready, _, _, _) = $0 { return f.rawValue == flow }; return false }.count
    }

    @Test(arguments: [("garbage", "unknown-kind"), ("oversize", "frame-too-large")])
    func misbehavingRuntimeIsReportedAndRestartedAndTheHostKeepsServing(mode: String, code: String) async throws {
        let runtimes = try Self.fakeRuntimes(fakeRuntime)
        defer { try? FileManager.default.removeItem(atPath: runtimes) }
        try await withRunner(runtimesDirectory: runtimes, maxFrameBytes: 4096) { h in
            _ = try await h.deployAndStart(#"{"id": "bad", "modules": [{"id": "m", "runtime": "python3", "code": "\#(mode)"}]}"#)
            _ = try await h.deployAndStart(#"{"id": "good", "modules": [{"id": "echo", "runtime": "node", "code": "module.exports = (m) => m.payload"}]}"#)
            let readyBefore = readyCount(h.recorder.events, "bad")
            try await h.inject("bad", "m", "{\"x\": 1}")
            try await h.recorder.wait(for: "the protocol error reported") { events in
                failedReasons(events, "bad").contains { $0.contains(code) }
            }
            try await h.recorder.wait(for: "the instance restarted") { events in readyCount(events, "bad") > readyBefore }
            try await h.recorder.wait(for: "the message recorded as an error") { events in
                events.errors("bad", "m").contains { $0.payload == .object(["x": .int(1)]) }
            }
            let status = try await h.host.status(FlowID("bad"))
            #expect(status.instances[0].restarts >= 1)
            try await h.inject("good", "echo", "7")
            try await h.recorder.wait(for: "the other flow still served") { events in events.outputs("good") == ["7"] }
        }
        try? FileManager.default.removeItem(atPath: runtimes)
    }

    @Test func protocolMismatchIsRefusedWithAClearReason() async throws {
        let runtimes = try Self.fakeRuntimes(fakeRuntime, protocolVersion: 2)
        defer { try? FileManager.default.removeItem(atPath: runtimes) }
        try await withRunner(runtimesDirectory: runtimes) { h in
            do {
                try await h.host.deploy(try RunnerHarness.flow(#"{"id": "v2", "modules": [{"id": "m", "runtime": "python3", "code": "x"}]}"#))
                Issue.record("deployed on a runtime that speaks another protocol")
            } catch {
                #expect("\(error)".contains("speaks protocol 2, host speaks 1"), "\(error)")
            }
        }
    }

    @Test func missingInterpreterIsLeftOutAndDeployingForItFails() async throws {
        // A PATH with python3 but no node.
        let bin = NSTemporaryDirectory() + "polyflow-path-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: bin) }
        let python = try #require(RuntimeLocator(runtimesDirectory: "").which("python3"))
        try FileManager.default.createSymbolicLink(atPath: bin + "/python3", withDestinationPath: python)
        try await withRunner(searchPath: bin) { h in
            #expect(await h.host.listRuntimes().map(\.id) == [.python3])
            do {
                try await h.host.deploy(try RunnerHarness.flow(#"{"id": "n", "modules": [{"id": "js", "runtime": "node", "code": "x"}]}"#))
                Issue.record("deployed a node module without node")
            } catch let error as RunnerError {
                #expect(error.code == .runtimeUnavailable)
                #expect(error.description == "module \"n/js\" needs runtime \"node\", which is not installed on this runner (not found on PATH); available: python3")
            }
            let empty = NSTemporaryDirectory() + "polyflow-empty-\(UUID().uuidString.prefix(8))"
            try await withRunner(searchPath: empty) { none in
                #expect(await none.host.listRuntimes().isEmpty)
            }
        }
    }
}

extension RuntimeFaultTests {
    @Test func injectOverTheFrameLimitIsRefusedBeforeItIsQueued() async throws {
        try await withRunner(maxFrameBytes: 1024) { h in
            _ = try await h.deployAndStart(#"{"id": "big", "modules": [{"id": "echo", "runtime": "node", "code": "module.exports = (m) => m.payload.length"}]}"#)
            let pids = try await h.host.pids(FlowID("big"))
            let big = "\"" + String(repeating: "x", count: 2000) + "\""
            do {
                try await h.inject("big", "echo", big)
                Issue.record("an oversize payload was accepted")
            } catch let error as RunnerError {
                #expect(error.code == .payloadTooLarge)
                #expect(error.description.contains("over the frame limit of 1024 bytes"))
            }
            try await h.inject("big", "echo", "\"small\"")
            try await h.recorder.wait(for: "the small message") { events in events.outputs("big") == ["5"] }
            #expect(try await h.host.pids(FlowID("big")) == pids, "no restart")
        }
    }
}
