/// A control frame from a runtime to the host (`{"t": ...}`), decoded by the host.
/// Data and ack frames never come through here.
public enum RuntimeMessage: Sendable, Equatable {
    case hello(Hello)
    case configured([ModuleID: LoadResult])
    /// The answer to a `swap`: each loaded module's result.
    case swapped([ModuleID: LoadResult])
    case log(module: ModuleID?, level: LogLevel, text: String)
    case error(ModuleErrorReport)
    case stats([ModuleID: ModuleStats])
    /// Counters and states at a clean cut, kept by the host only once the ack
    /// frame that follows it arrives (docs/protocol.md, "Commits").
    case commit([ModuleID: ModuleStats])
    case bye
    case fatal(message: String)
    case unknown(type: String)

    public struct Hello: Sendable, Equatable, Codable {
        public var `protocol`: Int
        public var runtime: String
        public var name: String
        public var version: String
        public var pid: Int32
    }

    public struct LoadResult: Sendable, Equatable, Codable {
        public var ok: Bool
        public var error: String?
        public var line: Int?

        public init(ok: Bool, error: String? = nil, line: Int? = nil) { self.ok = ok; self.error = error; self.line = line }
    }

    public struct ModuleStats: Sendable, Equatable, Codable {
        public var `in`: Int
        public var out: Int
        public var errors: Int
        public var state: JSONValue?

        public init(in: Int, out: Int, errors: Int, state: JSONValue? = nil) {
            self.in = `in`; self.out = out; self.errors = errors; self.state = state
        }
    }
}

public enum LogLevel: String, Codable, Sendable {
    case info, warn, error
}

/// A module error as a runtime reports it: the input that was being handled and what went wrong.
public struct ModuleErrorReport: Sendable, Equatable, Codable {
    public var module: ModuleID
    public var port: PortName?
    public var payload: JSONValue?
    public var message: String
    public var stack: String?

    public init(module: ModuleID, port: PortName?, payload: JSONValue?, message: String, stack: String?) {
        self.module = module; self.port = port; self.payload = payload; self.message = message; self.stack = stack
    }
}

extension RuntimeMessage: Decodable {
    private enum Key: String, CodingKey { case t, modules, module, level, text, message }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let type = try c.decode(String.self, forKey: .t)
        switch type {
        case "hello": self = .hello(try Hello(from: decoder))
        case "configured":
            let raw = try c.decode([String: LoadResult].self, forKey: .modules)
            self = .configured(Dictionary(uniqueKeysWithValues: raw.map { (ModuleID($0.key), $0.value) }))
        case "swapped":
            let raw = try c.decode([String: LoadResult].self, forKey: .modules)
            self = .swapped(Dictionary(uniqueKeysWithValues: raw.map { (ModuleID($0.key), $0.value) }))
        case "log":
            self = .log(module: try c.decodeIfPresent(ModuleID.self, forKey: .module),
                        level: (try? c.decode(LogLevel.self, forKey: .level)) ?? .info,
                        text: try c.decode(String.self, forKey: .text))
        case "error": self = .error(try ModuleErrorReport(from: decoder))
        case "stats":
            let raw = try c.decode([String: ModuleStats].self, forKey: .modules)
            self = .stats(Dictionary(uniqueKeysWithValues: raw.map { (ModuleID($0.key), $0.value) }))
        case "commit":
            let raw = try c.decode([String: ModuleStats].self, forKey: .modules)
            self = .commit(Dictionary(uniqueKeysWithValues: raw.map { (ModuleID($0.key), $0.value) }))
        case "bye": self = .bye
        case "fatal": self = .fatal(message: try c.decode(String.self, forKey: .message))
        default: self = .unknown(type: type)
        }
    }
}
