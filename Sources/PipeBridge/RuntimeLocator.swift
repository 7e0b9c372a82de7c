import FlowModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers

/// Finds `python3` and `node` on PATH and the runtime scripts in `runtimes/`.
public struct RuntimeLocator: Sendable {
    public var searchPath: String
    public var runtimesDirectory: String

    public init(searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                runtimesDirectory: String) {
        self.searchPath = searchPath
        self.runtimesDirectory = runtimesDirectory
    }

    /// The runtimes available here; a runtime whose interpreter is missing or broken is left out.
    public func locate() -> [RuntimeInfo] {
        var found: [RuntimeInfo] = []
        if let py = which("python3"),
           let out = Self.run(py, ["-c", "import sys, platform; print(sys.executable); print(platform.python_version())"]) {
            let lines = out.split(separator: "\n").map(String.init)
            if lines.count >= 2 {
                found.append(RuntimeInfo(id: .python3, name: "CPython", version: lines[1], executable: lines[0]))
            }
        }
        if let node = which("node"), let out = Self.run(node, ["-p", "process.execPath + '\\n' + process.versions.node"]) {
            let lines = out.split(separator: "\n").map(String.init)
            if lines.count >= 2 {
                found.append(RuntimeInfo(id: .node, name: "Node.js", version: lines[1], executable: lines[0]))
            }
        }
        return found
    }

    /// The script that implements a runtime kind.
    public func script(for kind: RuntimeKind) -> String? {
        switch kind {
        case .python3: "\(runtimesDirectory)/python3/polyflow_runtime.py"
        case .node: "\(runtimesDirectory)/node/polyflow_runtime.js"
        case .browser: nil
        }
    }

    public func which(_ name: String) -> String? {
        for dir in searchPath.split(separator: ":") where !dir.isEmpty {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Finds `runtimes/` next to the executable (walking up from it), or under the working directory.
    public static func defaultRuntimesDirectory() -> String {
        if let env = ProcessInfo.processInfo.environment["POLYFLOW_RUNTIMES"], !env.isEmpty { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            let candidate = dir.appendingPathComponent("runtimes/python3/polyflow_runtime.py").path
            if FileManager.default.fileExists(atPath: candidate) { return dir.appendingPathComponent("runtimes").path }
            dir = dir.deletingLastPathComponent()
        }
        return FileManager.default.currentDirectoryPath + "/runtimes"
    }

    /// Runs `executable` to its end; its stdout, or nil when it cannot start or fails.
    static func run(_ executable: String, _ arguments: [String]) -> String? {
        guard let pipes = try? OutputPipes() else { return nil }
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard devNull >= 0 else { pipes.closeAll(); return nil }
        defer { close(devNull) }
        let exited = DispatchSemaphore(value: 0)
        let status = NIOLockedValueBox<ProcessExit?>(nil)
        do {
            _ = try SpawnedChild(executable: executable, arguments: arguments, stdin: devNull, stdout: pipes.stdout.write,
                                 stderr: devNull) { exit in
                status.withLockedValue { $0 = exit }
                exited.signal()
            }
        } catch {
            pipes.closeAll()
            return nil
        }
        pipes.closeWriteEnds()
        close(pipes.stderr.read)
        let data = FileHandle(fileDescriptor: pipes.stdout.read, closeOnDealloc: true).readDataToEndOfFile()
        exited.wait()
        guard status.withLockedValue({ $0 }) == .exited(0) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
