import FlowModel
import Foundation
import RunnerProtocol

/// Where environments live on disk (docs/dependencies.md, "Layout"):
///
///     <root>/<envId>/environment.json   what it holds: runtime, list, interpreter, created
///     <root>/<envId>/venv/              python3: a virtual environment
///     <root>/<envId>/node/node_modules/ node: the packages
///     <root>/<envId>/ready              written last: the environment is complete
///     <root>/.building/<envId>-<n>/     an environment being built (renamed into place when done)
///     <root>/.trash/                    broken or removed environments on their way out
public struct EnvironmentLayout: Sendable {
    public let root: String
    public init(root: String) { self.root = root }

    public func directory(_ id: EnvironmentID) -> String { "\(root)/\(id.rawValue)" }
    public var buildingDirectory: String { "\(root)/.building" }
    public var trashDirectory: String { "\(root)/.trash" }

    static let readyMarker = "ready"
    static let manifestFile = "environment.json"

    /// The python of a venv built in `directory`.
    static func python(in directory: String) -> String { "\(directory)/venv/bin/python3" }
    /// The `node_modules` of a Node.js environment built in `directory`.
    static func nodeModules(in directory: String) -> String { "\(directory)/node/node_modules" }

    /// How an instance with `key` starts: the venv's interpreter for Python,
    /// `NODE_PATH` at the environment's `node_modules` for Node.js.
    public func launch(for key: InstanceKey) -> EnvironmentLaunch {
        guard let id = key.environment else { return .none }
        let dir = directory(id)
        switch key.runtime {
        case .python3: return EnvironmentLaunch(executable: Self.python(in: dir), variables: ["VIRTUAL_ENV": "\(dir)/venv"])
        case .node: return EnvironmentLaunch(executable: nil, variables: ["NODE_PATH": Self.nodeModules(in: dir)])
        case .browser: return .none
        }
    }
}

/// What an instance's process needs to see its environment.
public struct EnvironmentLaunch: Sendable, Equatable {
    /// Replaces the runtime's interpreter (a venv's python); nil keeps it.
    public var executable: String?
    /// Added to the process's environment.
    public var variables: [String: String]

    public static let none = EnvironmentLaunch(executable: nil, variables: [:])
}
