/// A language runtime found on a runner's machine (`listRuntimes`).
public struct RuntimeInfo: Sendable, Codable, Equatable {
    public var id: RuntimeKind
    public var name: String
    public var version: String
    /// The interpreter to start (resolved once, e.g. past pyenv shims).
    public var executable: String

    public init(id: RuntimeKind, name: String, version: String, executable: String) {
        self.id = id; self.name = name; self.version = version; self.executable = executable
    }
}
