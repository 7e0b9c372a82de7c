import FlowModel
import Foundation
import Logging
import PipeBridge
import RunnerProtocol

/// The dependency environments of one runner, content-addressed under its
/// state directory (see `EnvironmentLayout`, docs/dependencies.md).
///
/// - One build per id at a time: a second request for an environment being
///   built waits for that build (`building`), so two flows asking for the
///   same new set build it once.
/// - Atomic: an environment is built in `.building/` and renamed into place
///   only once complete, its `ready` marker written last; a directory
///   without the marker, or made for another interpreter, is broken, moved
///   to `.trash/` and built again.
/// - Survives restarts: nothing is kept in memory that the disk does not say.
public actor EnvironmentStore {
    public let layout: EnvironmentLayout
    private let installers: Installers
    private let timeLimit: Duration
    private let logger: Logger
    private let emit: @Sendable (EnvironmentProgress) -> Void
    private var building: [EnvironmentID: Task<Void, any Error>] = [:]
    private var swept = false
    private var saidInstaller = false
    private var serial = 0

    public init(root: String, searchPath: String, timeLimit: Duration, logger: Logger,
                progress: @escaping @Sendable (EnvironmentProgress) -> Void) {
        self.layout = EnvironmentLayout(root: root)
        self.installers = Installers.find(searchPath: searchPath)
        self.timeLimit = timeLimit
        self.logger = logger
        self.emit = progress
    }

    /// The name of the installer for `runtime` here ("uv", "pip", "npm").
    public func installerName(for runtime: RuntimeKind) -> String { installers.name(for: runtime) }

    /// Makes sure the environment of `set` exists and is whole, building it
    /// if not; returns whether it had to be built. `flow` and `modules` only
    /// label the progress events.
    @discardableResult
    public func ensure(_ set: DependencySet, runtime: RuntimeInfo, flow: FlowID? = nil, modules: [ModuleID] = []) async throws -> Bool {
        let id = set.id
        if isReady(id, runtime: runtime) { return false }
        if let running = building[id] {
            try await running.value
            return false
        }
        sweepOnce()
        let task = Task { try await self.build(set, runtime: runtime, flow: flow, modules: modules) }
        building[id] = task
        defer { building[id] = nil }
        try await task.value
        return true
    }

    /// Whether `id` is complete and made for this interpreter.
    public func isReady(_ id: EnvironmentID, runtime: RuntimeInfo) -> Bool {
        let dir = layout.directory(id)
        guard FileManager.default.fileExists(atPath: "\(dir)/\(EnvironmentLayout.readyMarker)"),
              let manifest = Self.manifest(in: dir), manifest.id == id,
              manifest.interpreter == Self.interpreter(runtime) else { return false }
        switch runtime.id {
        case .python3: return FileManager.default.isExecutableFile(atPath: EnvironmentLayout.python(in: dir))
        case .node: return FileManager.default.fileExists(atPath: EnvironmentLayout.nodeModules(in: dir))
        case .browser: return false
        }
    }

    /// Every complete environment here, with its size.
    public func list(runtime: RuntimeKind? = nil) -> [(manifest: EnvironmentInfo, ready: Bool)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.root)) ?? []
        var out: [(manifest: EnvironmentInfo, ready: Bool)] = []
        for name in names.sorted() {
            guard let id = EnvironmentID(parsing: name), let m = Self.manifest(in: layout.directory(id)) else { continue }
            if let runtime, m.runtime != runtime { continue }
            let ready = FileManager.default.fileExists(atPath: "\(layout.directory(id))/\(EnvironmentLayout.readyMarker)")
            out.append((manifest: EnvironmentInfo(id: id, runtime: m.runtime, dependencies: m.dependencies, size: Self.size(of: layout.directory(id)),
                                        created: m.created, modules: [], runner: "local", installer: m.installer), ready: ready))
        }
        return out
    }

    /// Deletes an environment (the caller has checked that nothing uses it).
    public func remove(_ id: EnvironmentID) throws(EnvironmentError) {
        let dir = layout.directory(id)
        guard FileManager.default.fileExists(atPath: dir) else { throw .unknown(id) }
        try discard(dir)
    }

    // MARK: building

    private func build(_ set: DependencySet, runtime: RuntimeInfo, flow: FlowID?, modules: [ModuleID]) async throws {
        let id = set.id
        let started = ContinuousClock.now
        let emit = self.emit
        @Sendable func progress(_ phase: EnvironmentProgress.Phase, _ text: String?) {
            emit(EnvironmentProgress(environment: id, runtime: set.runtime, phase: phase, text: text, flow: flow, modules: modules))
        }
        serial += 1
        let workDir = "\(layout.buildingDirectory)/\(id.rawValue)-\(getpid())-\(serial)"
        let installerName = installers.name(for: set.runtime)
        if set.runtime == .python3, installers.python == .pip, !saidInstaller {
            saidInstaller = true
            logger.notice("uv is not on the search path: Python environments are built with pip (about 5x slower; `pip install uv` or POLYFLOW_UV=/path/to/uv speeds them up)")
        }
        progress(.started, "building \(id) with \(installerName): \(set.dependencies.joined(separator: " "))")
        logger.info("building environment", metadata: ["environment": "\(id)", "installer": "\(installerName)",
                                                        "dependencies": "\(set.dependencies)"])
        do {
            try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
            for command in try installers.commands(for: set, runtime: runtime, in: workDir, timeLimit: timeLimit) {
                let outcome = try await command.run { progress(.line, $0) }
                let tool = command.arguments.contains("venv") ? "python3 -m venv" : installerName
                if outcome.timedOut {
                    throw EnvironmentError.timedOut(id, installer: tool, seconds: Int(timeLimit.components.seconds), tail: outcome.tail)
                }
                if !outcome.succeeded {
                    throw EnvironmentError.installFailed(id, installer: tool, status: "\(outcome.exit)", tail: outcome.tail)
                }
            }
            let took = ContinuousClock.now - started
            let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
            let manifest = EnvironmentManifest(id: id, runtime: set.runtime, dependencies: set.dependencies, interpreter: Self.interpreter(runtime),
                                               installer: installerName, created: Date(), buildSeconds: seconds)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            try encoder.encode(manifest).write(to: URL(fileURLWithPath: "\(workDir)/\(EnvironmentLayout.manifestFile)"), options: .atomic)
            try Data("ok\n".utf8).write(to: URL(fileURLWithPath: "\(workDir)/\(EnvironmentLayout.readyMarker)"), options: .atomic)
            let target = layout.directory(id)
            if FileManager.default.fileExists(atPath: target) { try discard(target) }  // broken: checked by the caller
            guard rename(workDir, target) == 0 else {
                throw EnvironmentError.filesystem("cannot move \(workDir) to \(target): \(String(cString: strerror(errno)))")
            }
            progress(.ok, "environment \(id) ready in \((seconds * 10).rounded() / 10) s")
        } catch {
            try? FileManager.default.removeItem(atPath: workDir)
            let reason = (error as? EnvironmentError)?.description ?? "\(error)"
            progress(.failed, reason)
            logger.error("environment build failed", metadata: ["environment": "\(id)", "error": "\(reason)"])
            if let error = error as? EnvironmentError { throw error }
            throw EnvironmentError.filesystem("\(error)")
        }
    }

    /// Moves a directory to `.trash/` (a rename: atomic) and deletes it there.
    private func discard(_ dir: String) throws(EnvironmentError) {
        serial += 1
        do { try FileManager.default.createDirectory(atPath: layout.trashDirectory, withIntermediateDirectories: true) } catch {
            throw .filesystem("cannot create \(layout.trashDirectory): \(error)")
        }
        let aside = "\(layout.trashDirectory)/\(URL(fileURLWithPath: dir).lastPathComponent)-\(getpid())-\(serial)"
        guard rename(dir, aside) == 0 else { throw .filesystem("cannot move \(dir) aside: \(String(cString: strerror(errno)))") }
        try? FileManager.default.removeItem(atPath: aside)
    }

    /// Removes what builds killed with the server left behind, once per store.
    private func sweepOnce() {
        guard !swept else { return }
        swept = true
        for dir in [layout.buildingDirectory, layout.trashDirectory] where FileManager.default.fileExists(atPath: dir) {
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    static func manifest(in dir: String) -> EnvironmentManifest? {
        guard let data = FileManager.default.contents(atPath: "\(dir)/\(EnvironmentLayout.manifestFile)") else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(EnvironmentManifest.self, from: data)
    }

    static func interpreter(_ runtime: RuntimeInfo) -> String { "\(runtime.name) \(runtime.version) \(runtime.executable)" }

    /// Bytes of every regular file under `dir` (symbolic links not followed).
    static func size(of dir: String) -> Int {
        guard let walk = FileManager.default.enumerator(at: URL(fileURLWithPath: dir), includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) else { return 0 }
        var total = 0
        for case let url as URL in walk {
            if let values = try? url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), values.isRegularFile == true {
                total += values.fileSize ?? 0
            }
        }
        return total
    }
}
