import Foundation
import Testing
@testable import PipeBridge

@Suite(.timeLimit(.minutes(1))) struct FifoPairTests {
    func tempBase() -> String {
        NSTemporaryDirectory() + "polyflow-fifo-test-\(UUID().uuidString.prefix(8))"
    }

    func mode(_ path: String) throws -> Int {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw CocoaError(.fileNoSuchFile) }
        return Int(st.st_mode)
    }

    @Test func sweepRemovesOnlyDirectoriesWhoseServerIsGone() async throws {
        let base = tempBase()
        defer { rmdir(base) }
        let mine = try FifoPair.create(in: base, name: "live-python3")
        defer { mine.remove() }
        // A pid that existed and is gone: a child that exited and was reaped.
        let exited = AsyncStream.makeStream(of: Void.self)
        let child = try SpawnedChild(executable: "/bin/true", arguments: [], stdin: 0, stdout: 1, stderr: 2) { _ in
            exited.continuation.yield()
        }
        for await _ in exited.stream { break }
        let orphan = try FifoPair.create(in: base, name: "crashed-node")
        try Data("\(child.pid)\n".utf8).write(to: URL(fileURLWithPath: orphan.ownerPath))
        let other = base + "/not-ours"
        #expect(mkdir(other, 0o700) == 0)
        defer { rmdir(other) }

        #expect(FifoPair.sweep(in: base) == [orphan.directory])
        #expect(!FileManager.default.fileExists(atPath: orphan.directory))
        #expect(FileManager.default.fileExists(atPath: mine.toRuntimePath), "this process's directory stays")
        #expect(FileManager.default.fileExists(atPath: other), "a directory without an owner file stays")
    }

    @Test func privateDirectoryAndFifos() throws {
        let base = tempBase()
        defer { rmdir(base) }
        let pair = try FifoPair.create(in: base, name: "flow-node")
        #expect(pair.directory.hasPrefix(base + "/flow-node-"))
        #expect(try mode(pair.directory) & 0o777 == 0o700)
        for path in [pair.toRuntimePath, pair.fromRuntimePath] {
            let m = try mode(path)
            #expect(m & Int(S_IFMT) == Int(S_IFIFO))
            #expect(m & 0o777 == 0o600)
        }
        pair.remove()
        #expect(!FileManager.default.fileExists(atPath: pair.directory))
        pair.remove() // twice is fine
    }

    @Test func bytesCrossTheFifo() throws {
        let base = tempBase()
        defer { rmdir(base) }
        let pair = try FifoPair.create(in: base, name: "t")
        defer { pair.remove() }
        let fds = try pair.open()
        defer { close(fds.toRuntime); close(fds.fromRuntime) }
        let reader = open(pair.toRuntimePath, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let sent = "D0 {}\n"
        #expect(write(fds.toRuntime, sent, sent.utf8.count) == sent.utf8.count)
        var bytes = [UInt8](repeating: 0, count: 64)
        let n = read(reader, &bytes, 64)
        #expect(n == sent.utf8.count)
        #expect(String(decoding: bytes[0..<max(0, n)], as: UTF8.self) == sent)
    }

    @Test func unusableBaseDirectoryIsAClearError() {
        #expect(throws: PipeBridgeError.self) { try FifoPair.create(in: "/proc/no-such/polyflow", name: "x") }
    }
}
