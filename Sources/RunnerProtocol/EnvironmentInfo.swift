import FlowModel
import Foundation

/// One environment as `listDependencies` shows it.
public struct EnvironmentInfo: Codable, Sendable, Equatable {
    public var id: EnvironmentID
    public var runtime: RuntimeKind
    public var dependencies: [String]
    /// Bytes on disk.
    public var size: Int
    public var created: Date
    /// `flow/module` of every deployed module that runs in it.
    public var modules: [FlowModuleID]
    /// The runner that holds it ("local" for the embedded runner).
    public var runner: String
    public var installer: String

    public init(id: EnvironmentID, runtime: RuntimeKind, dependencies: [String], size: Int, created: Date,
                modules: [FlowModuleID], runner: String, installer: String) {
        self.id = id; self.runtime = runtime; self.dependencies = dependencies; self.size = size; self.created = created
        self.modules = modules; self.runner = runner; self.installer = installer
    }
}

/// One step of an install as subscribers see it (`type: "dependencies"` events):
/// every installer line, then `ok` or `failed`.
public struct EnvironmentProgress: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable { case started, line, ok, failed }
    public var environment: EnvironmentID
    public var runtime: RuntimeKind
    public var phase: Phase
    /// The installer's line, or for `failed` the reason.
    public var text: String?
    /// The flow being deployed that needs it, if any.
    public var flow: FlowID?
    public var modules: [ModuleID]

    public init(environment: EnvironmentID, runtime: RuntimeKind, phase: Phase, text: String? = nil,
                flow: FlowID? = nil, modules: [ModuleID] = []) {
        self.environment = environment; self.runtime = runtime; self.phase = phase; self.text = text
        self.flow = flow; self.modules = modules
    }
}
