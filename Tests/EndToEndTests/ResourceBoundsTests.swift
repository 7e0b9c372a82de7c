import FlowModel
import Foundation
import Testing

/// What modules and clients can hold on to: forked processes, a subscriber
/// that stops reading, a shutdown it tries to hold up (issue 10).
@Suite(.timeLimit(.minutes(4))) struct ResourceBoundsTests {
    /// A python module that forks a child that would sleep 90 s; the child writes its pid to `pidFile`.
    static func forkingFlow(pidFile: String) -> JSONValue {
        let code = """
            import os, time
            def on_message(msg, ctx):
                if os.fork() == 0:
                    with open(\(JSONValue.string(pidFile).jsonText) + ".tmp", "w") as f:
                        f.write(str(os.getpid()))
                    os.rename(\(JSONValue.string(pidFile).jsonText) + ".tmp", \(JSONValue.string(pidFile).jsonText))
                    time.sleep(90)
                    os._exit(0)
            """
        return ["id": "forker", "modules": [["id": "f", "runtime": "python3", "code": .string(code)]]]
    }

    func forkedChild(_ server: PolyflowServer, pidFile: String) async throws -> Int32 {
        #expect(try await server.rpc("addOrUpdateFlow", ["flow": Self.forkingFlow(pidFile: pidFile)])["result"] == true)
        #expect(try await server.rpc("inject", ["flowModuleId": "forker/f", "payload": 1])["result"] == true)
        var pid: Int32 = 0
        try await eventually("the forked child's pid") {
            guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let p = Int32(text) else { return false }
            pid = p
            return true
        }
        #expect(processAlive(pid))
        return pid
    }

    @Test func aProcessForkedByAModuleEndsWithItsFlow() async throws {
        try await withServer { server in
            let child = try await forkedChild(server, pidFile: server.stateDirectory + "/child.pid")
            #expect(try await server.rpc("removeFlow", ["flowId": "forker"])["result"] == true)
            try await eventually("the forked child gone after removeFlow") { !processAlive(child) }
        }
    }

    @Test func aProcessForkedByAModuleEndsWhenTheServerStops() async throws {
        let server = try await PolyflowServer.start()
        do {
            let child = try await forkedChild(server, pidFile: server.stateDirectory + "/child.pid")
            #expect(try await server.stop() == 0)
            try await eventually("the forked child gone after the server stopped") { !processAlive(child) }
        } catch {
            await server.cleanUp()
            throw error
        }
        await server.cleanUp()
    }

    /// A node module that sends `payload` outputs of 1 MiB each.
    static let bigOutputs: JSONValue = [
        "id": "big",
        "modules": [["id": "gen", "runtime": "node",
                     "code": "const s = 'x'.repeat(1 << 20); exports.onMessage = (msg, ctx) => { for (let i = 0; i < msg.payload; i++) ctx.send('out', s) }"]],
    ]

    /// A WebSocket client that subscribes to everything and then never reads.
    func stalledSubscriber(_ server: PolyflowServer) throws -> CInt {
        let raw = RawHTTP(url: server.url)
        let fd = try raw.connect()
        var small: CInt = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<CInt>.size))
        RawHTTP.send(fd, "GET /rpc HTTP/1.1\r\nHost: 127.0.0.1:\(raw.port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let (reply, _) = RawHTTP.receive(fd) { $0.contains("\r\n\r\n") }
        #expect(reply.hasPrefix("HTTP/1.1 101"), "\(reply.prefix(200))")
        RawHTTP.sendFrame(fd, #"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{}}"#)
        return fd
    }

    func residentBytes(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }

    @Test func aSubscriberThatDoesNotReadCostsBoundedMemory() async throws {
        try await withServer { server in
            let fd = try stalledSubscriber(server)
            defer { close(fd) }
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": Self.bigOutputs])["result"] == true)
            #expect(try await server.rpc("inject", ["flowModuleId": "big/gen", "payload": 600])["result"] == true)
            var peak = 0
            try await eventually("600 outputs of 1 MiB sent", timeout: .seconds(120)) {
                peak = max(peak, residentBytes(server.process.pid))
                let gen = try await server.status("big")["modules"]?.arrayValue?.first
                return gen?["messagesOut"] == 600
            }
            peak = max(peak, residentBytes(server.process.pid))
            // 600 MiB of events went to a subscriber that reads nothing; its buffer holds at most 32 MiB.
            #expect(peak < 300 << 20, "server RSS peaked at \(peak >> 20) MiB")
        }
    }

    @Test func sigtermStopsEverythingWhileASubscriberDoesNotRead() async throws {
        let server = try await PolyflowServer.start()
        do {
            let fd = try stalledSubscriber(server)
            defer { close(fd) }
            #expect(try await server.rpc("addOrUpdateFlow", ["flow": Self.bigOutputs])["result"] == true)
            for _ in 0..<3 { #expect(try await server.rpc("inject", ["flowModuleId": "big/gen", "payload": 100])["result"] == true) }
            let runtimes = try await server.pids("big")
            #expect(!runtimes.isEmpty)
            // Counters move when a handler call returns: the first 100 are out, the rest are on their way.
            try await eventually("outputs flowing", timeout: .seconds(90)) {
                (try await server.status("big")["modules"]?.arrayValue?.first?["messagesOut"]?.intValue ?? 0) >= 100
            }
            server.process.signal(SIGTERM)
            let status = try await server.process.waitForExit(timeout: .seconds(40))
            #expect(status == 0)
            for pid in runtimes { #expect(!processAlive(pid), "runtime \(pid) reaped") }
            #expect(server.fifoEntries.isEmpty, "fifos removed: \(server.fifoEntries)")
        } catch {
            await server.cleanUp()
            throw error
        }
        await server.cleanUp()
    }
}

extension RawHTTP {
    /// Sends one masked WebSocket text frame (clients must mask).
    static func sendFrame(_ fd: CInt, _ text: String) {
        let payload = Array(text.utf8)
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame.append(0x80 | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        }
        let mask: [UInt8] = [1, 2, 3, 4]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        send(fd, bytes: frame)
    }
}
