/// What makes two modules of a flow share one runtime instance: the same
/// runtime and the same dependency environment (none for modules without
/// `dependencies`). Modules with different sets never share a process.
public struct InstanceKey: Hashable, Codable, Sendable, Comparable, CustomStringConvertible {
    public var runtime: RuntimeKind
    public var environment: EnvironmentID?

    public init(runtime: RuntimeKind, environment: EnvironmentID? = nil) {
        self.runtime = runtime
        self.environment = environment
    }

    public static func < (a: InstanceKey, b: InstanceKey) -> Bool {
        if a.runtime != b.runtime { return a.runtime < b.runtime }
        return (a.environment?.rawValue ?? "") < (b.environment?.rawValue ?? "")
    }

    /// `python3`, or `python3-3f2a…` with an environment (safe in file names).
    public var description: String { environment?.rawValue ?? runtime.rawValue }
}

extension ModuleSpec {
    /// The instance this module runs in: its runtime and the environment of its dependencies.
    public var instanceKey: InstanceKey {
        InstanceKey(runtime: runtime, environment: dependencySet?.id)
    }

    /// Its dependencies as one normalised set; nil when it lists none.
    public var dependencySet: DependencySet? {
        dependencies.isEmpty ? nil : DependencySet(runtime: runtime, dependencies: dependencies)
    }
}
