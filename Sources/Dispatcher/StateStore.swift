import FlowModel
import Foundation
import PipeBridge

/// One deployed flow as the dispatcher keeps it on disk.
public struct StoredFlow: Codable, Sendable, Equatable {
    public var flow: FlowDocument
    public var revision: Int
    public var started: Bool
    /// Debugger breakpoints: kept with the flow, across restarts and redeploys.
    public var breakpoints: [Breakpoint]
    /// Each module's last reported `ctx.state` (saved every few seconds while
    /// it changes, and at a clean stop), restored when the server restarts.
    public var moduleStates: [String: JSONValue]
    /// When `moduleStates` were saved.
    public var statesSavedAt: Date?

    public init(flow: FlowDocument, revision: Int, started: Bool, breakpoints: [Breakpoint] = [],
                moduleStates: [String: JSONValue] = [:], statesSavedAt: Date? = nil) {
        self.flow = flow; self.revision = revision; self.started = started; self.breakpoints = breakpoints
        self.moduleStates = moduleStates; self.statesSavedAt = statesSavedAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        flow = try c.decode(FlowDocument.self, forKey: .flow)
        revision = try c.decode(Int.self, forKey: .revision)
        started = try c.decode(Bool.self, forKey: .started)
        breakpoints = try c.decodeIfPresent([Breakpoint].self, forKey: .breakpoints) ?? []
        moduleStates = try c.decodeIfPresent([String: JSONValue].self, forKey: .moduleStates) ?? [:]
        statesSavedAt = try c.decodeIfPresent(Date.self, forKey: .statesSavedAt)
    }

    /// The saved states of the modules the flow still has.
    var restorableStates: [ModuleID: JSONValue] {
        var out: [ModuleID: JSONValue] = [:]
        for m in flow.modules { if let s = moduleStates[m.id.rawValue] { out[m.id] = s } }
        return out
    }
}

/// The dispatcher's state directory: one file per flow, written atomically
/// (temporary file, fsync, rename), private to the user (0700/0600).
public struct StateStore: Sendable {
    public let directory: String
    private var flowsDirectory: String { directory + "/flows" }

    public init(directory: String) { self.directory = directory }

    /// `$XDG_STATE_HOME/polyflow`, else `~/.local/state/polyflow`.
    public static func defaultDirectory() -> String { PrivateDirectory.defaultStateDirectory() }

    /// Creates the directories (0700), tightens ours, refuses another user's.
    public func prepare() throws {
        try PrivateDirectory.prepare(directory, createParents: true)
        try PrivateDirectory.prepare(flowsDirectory)
    }

    /// Every stored flow; a file that cannot be read is reported and skipped, the others still load.
    public func loadAll() -> (flows: [StoredFlow], unreadable: [StateStoreError]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: flowsDirectory)) ?? []
        var flows: [StoredFlow] = []
        var unreadable: [StateStoreError] = []
        for name in names.sorted() where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let path = "\(flowsDirectory)/\(name)"
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                flows.append(try JSONDecoder().decode(StoredFlow.self, from: data))
            } catch {
                unreadable.append(StateStoreError(path: path, reason: "\(error)"))
            }
        }
        return (flows, unreadable)
    }

    public func save(_ stored: StoredFlow) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(stored)
        let final = "\(flowsDirectory)/\(stored.flow.id).json"
        let temp = "\(flowsDirectory)/.\(stored.flow.id).json.tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateStoreError(path: temp, reason: String(cString: strerror(errno))) }
        let ok = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { return false }
                offset += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(temp, final) == 0 else {
            unlink(temp)
            throw StateStoreError(path: final, reason: "could not write: \(String(cString: strerror(errno)))")
        }
    }

    public func delete(_ id: FlowID) {
        unlink("\(flowsDirectory)/\(id).json")
    }
}

public struct StateStoreError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "state file \(path): \(reason) (fix or remove the file)" }
}
