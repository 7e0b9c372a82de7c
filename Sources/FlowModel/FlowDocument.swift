/// A flow: an id, modules and connections (see docs/flow-format.md).
public struct FlowDocument: Hashable, Codable, Sendable {
    public var id: FlowID
    public var description: String?
    public var modules: [ModuleSpec]
    public var connections: [Connection]

    public init(id: FlowID, description: String? = nil, modules: [ModuleSpec], connections: [Connection]) {
        self.id = id
        self.description = description
        self.modules = modules
        self.connections = connections
    }

    public func module(_ id: ModuleID) -> ModuleSpec? { modules.first { $0.id == id } }
}

/// One module of a flow. After validation exactly one of `code` and `file` is set;
/// the server only accepts `code` (flowctl inlines `file` before sending).
public struct ModuleSpec: Hashable, Codable, Sendable {
    public var id: ModuleID
    public var runtime: RuntimeKind
    public var code: String?
    public var file: String?
    public var inputs: [PortName]
    public var outputs: [PortName]
    public var config: JSONValue
    /// Placement preferences: a runner with all of them is chosen first.
    public var tags: [String]
    /// Placement requirements: only a runner with all of them may run the module.
    public var requireTags: [String]
    /// How long one message may take in a handler, in milliseconds; 0 means
    /// no limit, nil the default (`ModuleSpec.defaultTimeoutMs`).
    public var timeoutMs: Int?
    /// Packages the module needs, in its runtime's installer's terms (pip
    /// requirements, npm specs); modules with equal sets share one
    /// environment (see `DependencySet`, docs/dependencies.md).
    public var dependencies: [String]

    /// The time limit of a module that does not set `timeoutMs`: 60 s.
    public static let defaultTimeoutMs = 60_000

    public init(id: ModuleID, runtime: RuntimeKind, code: String? = nil, file: String? = nil,
                inputs: [PortName] = [PortName("in")], outputs: [PortName] = [PortName("out")],
                config: JSONValue = .object([:]), tags: [String] = [], requireTags: [String] = [], timeoutMs: Int? = nil,
                dependencies: [String] = []) {
        self.id = id; self.runtime = runtime; self.code = code; self.file = file
        self.inputs = inputs; self.outputs = outputs; self.config = config; self.tags = tags
        self.requireTags = requireTags
        self.timeoutMs = timeoutMs
        self.dependencies = dependencies
    }

    /// The time limit that applies, in milliseconds (0: none).
    public var effectiveTimeoutMs: Int { timeoutMs ?? Self.defaultTimeoutMs }
}

extension ModuleSpec {
    /// `tags`, `requireTags`, `timeoutMs` and `dependencies` may be absent (documents stored before they existed).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(ModuleID.self, forKey: .id)
        runtime = try c.decode(RuntimeKind.self, forKey: .runtime)
        code = try c.decodeIfPresent(String.self, forKey: .code)
        file = try c.decodeIfPresent(String.self, forKey: .file)
        inputs = try c.decode([PortName].self, forKey: .inputs)
        outputs = try c.decode([PortName].self, forKey: .outputs)
        config = try c.decode(JSONValue.self, forKey: .config)
        tags = try c.decodeIfPresent([String].self, forKey: .tags) ?? []
        requireTags = try c.decodeIfPresent([String].self, forKey: .requireTags) ?? []
        timeoutMs = try c.decodeIfPresent(Int.self, forKey: .timeoutMs)
        dependencies = try c.decodeIfPresent([String].self, forKey: .dependencies) ?? []
    }
}

/// `from: "module.outPort"` to `to: "module.inPort"`.
public struct Connection: Hashable, Codable, Sendable {
    public var from: Endpoint
    public var to: Endpoint
    public init(from: Endpoint, to: Endpoint) { self.from = from; self.to = to }
}

/// `module.port` in a connection.
public struct Endpoint: Hashable, Codable, Sendable, CustomStringConvertible {
    public var module: ModuleID
    public var port: PortName

    public init(module: ModuleID, port: PortName) { self.module = module; self.port = port }

    /// Parses `module.port`; nil without exactly one `.` between two non-empty parts.
    public init?(parsing text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        module = ModuleID(String(parts[0]))
        port = PortName(String(parts[1]))
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let e = Endpoint(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected \"module.port\", got \"\(text)\""))
        }
        self = e
    }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(description) }
    public var description: String { "\(module).\(port)" }
}
