import FlowModel

/// The first message of a runner on a new connection.
public struct RunnerHello: Hashable, Sendable, Codable {
    /// One runtime a runner can start.
    public struct Runtime: Hashable, Sendable, Codable {
        public var id: RuntimeKind
        public var name: String
        public var version: String
        public init(id: RuntimeKind, name: String, version: String) { self.id = id; self.name = name; self.version = version }
    }

    public var `protocol`: Int
    /// `--name`; unique among the joined runners.
    public var name: RunnerID
    /// A random id made when the runner process starts: a reconnect of the same
    /// process carries the same one, another process with the same name does not.
    public var instance: String
    public var runtimes: [Runtime]
    public var tags: [String]
    /// The modules this runner still runs from an earlier connection (after a
    /// partition or a dispatcher restart), with their generations; empty for a fresh runner.
    public var modules: [ModuleLease]
    /// The token, when it was not given at the WebSocket upgrade (a browser cannot set headers).
    public var token: String?

    public init(protocol: Int = RunnerProtocol.version, name: RunnerID, instance: String, runtimes: [Runtime],
                tags: [String] = [], modules: [ModuleLease] = [], token: String? = nil) {
        self.protocol = `protocol`; self.name = name; self.instance = instance
        self.runtimes = runtimes; self.tags = tags; self.modules = modules; self.token = token
    }

    enum CodingKeys: String, CodingKey { case `protocol`, name, instance, runtimes, tags, modules, token }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.protocol = try c.decode(Int.self, forKey: .protocol)
        name = try c.decode(RunnerID.self, forKey: .name)
        instance = try c.decode(String.self, forKey: .instance)
        runtimes = try c.decode([Runtime].self, forKey: .runtimes)
        tags = try c.decodeIfPresent([String].self, forKey: .tags) ?? []
        modules = try c.decodeIfPresent([ModuleLease].self, forKey: .modules) ?? []
        token = try c.decodeIfPresent(String.self, forKey: .token)
    }
}

/// The dispatcher's answer to a `hello` it accepts.
public struct RunnerWelcome: Hashable, Sendable, Codable {
    public var `protocol`: Int
    public var runner: RunnerID
    /// This connection's number, unique for the dispatcher's lifetime; data
    /// batches name both ends as (runner, session), so a frame meant for an
    /// earlier connection of the same runner is refused.
    public var session: Int
    public var heartbeatMs: Int
    public var lostAfterMs: Int
    /// Unacknowledged data frames per stream.
    public var window: Int
    public var maxFrameBytes: Int
    public var maxMessageBytes: Int
    /// Modules of `hello.modules` that this runner no longer owns: it stops
    /// them and drops every message it holds for them before it sends anything.
    public var drop: [ModuleLease]

    public init(protocol: Int = RunnerProtocol.version, runner: RunnerID, session: Int,
                heartbeatMs: Int = 1000, lostAfterMs: Int = 3000, window: Int = RunnerProtocol.defaultWindow,
                maxFrameBytes: Int = RunnerProtocol.defaultMaxFrameBytes,
                maxMessageBytes: Int = RunnerProtocol.defaultMaxMessageBytes, drop: [ModuleLease] = []) {
        self.protocol = `protocol`; self.runner = runner; self.session = session
        self.heartbeatMs = heartbeatMs; self.lostAfterMs = lostAfterMs; self.window = window
        self.maxFrameBytes = maxFrameBytes; self.maxMessageBytes = maxMessageBytes; self.drop = drop
    }
}

/// The dispatcher's answer to a `hello` it refuses; the connection is then closed.
public struct RunnerRefusal: Hashable, Sendable, Codable {
    public enum Code: String, Hashable, Sendable, Codable, CaseIterable {
        case badToken = "bad-token"
        case protocolVersion = "protocol-version"
        case duplicateName = "duplicate-name"
        case badHello = "bad-hello"
    }

    public var code: Code
    /// One line for the runner's user, e.g. `a runner named "gpu-1" is already connected; choose another --name`.
    public var message: String

    public init(code: Code, message: String) { self.code = code; self.message = message }
}
