import Foundation

/// Turns JSON into a `FlowDocument`, collecting every problem with its path:
/// wrong types, unknown fields, bad ids, missing code, unknown runtimes.
/// Cross-references (connections, duplicates) are checked by `FlowValidator`.
struct FlowParser {
    var issues: [ValidationIssue] = []

    static let flowFields = ["id", "description", "modules", "connections"]
    static let moduleFields = ["id", "runtime", "code", "file", "inputs", "outputs", "config", "tags", "requireTags", "timeoutMs", "dependencies", "description"]
    static let connectionFields = ["from", "to"]

    mutating func problem(_ path: String, _ reason: String) { issues.append(ValidationIssue(path: path, reason: reason)) }

    mutating func parseFlow(_ json: JSONValue) -> FlowDocument? {
        guard case .object(let o) = json else {
            problem("", "a flow must be a JSON object, got \(json.typeName)")
            return nil
        }
        unknownFields(o, known: Self.flowFields, at: "")
        let id = identifier(o["id"], at: "id", what: "flow id")
        var description: String?
        if let d = o["description"] {
            if case .string(let s) = d { description = s } else { problem("description", "must be a string, got \(d.typeName)") }
        }
        var modules: [ModuleSpec] = []
        switch o["modules"] {
        case nil: problem("modules", "missing: a flow needs a \"modules\" array (it may be empty)")
        case .array(let items)?:
            for (i, item) in items.enumerated() {
                if let m = parseModule(item, at: "modules[\(i)]") { modules.append(m) }
            }
        case let other?: problem("modules", "must be an array of modules, got \(other.typeName)")
        }
        var connections: [Connection] = []
        switch o["connections"] {
        case nil: break
        case .array(let items)?:
            for (i, item) in items.enumerated() {
                if let c = parseConnection(item, at: "connections[\(i)]") { connections.append(c) }
            }
        case let other?: problem("connections", "must be an array of connections, got \(other.typeName)")
        }
        // With a bad id the flow is still checked as a whole (every problem is
        // reported); the validator never returns a flow that had problems.
        return FlowDocument(id: FlowID(id ?? ""), description: description, modules: modules, connections: connections)
    }

    mutating func parseModule(_ json: JSONValue, at path: String) -> ModuleSpec? {
        guard case .object(let o) = json else {
            problem(path, "a module must be a JSON object, got \(json.typeName)")
            return nil
        }
        unknownFields(o, known: Self.moduleFields, at: path)
        let id = identifier(o["id"], at: "\(path).id", what: "module id")
        var runtime: RuntimeKind?
        switch o["runtime"] {
        case nil: problem("\(path).runtime", "missing: say which runtime runs this module (\(RuntimeKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        case .string(let s)?:
            runtime = RuntimeKind(rawValue: s)
            if runtime == nil {
                problem("\(path).runtime", "unknown runtime \"\(s.clipped())\"\(DidYouMean.hint(for: s, among: RuntimeKind.allCases.map(\.rawValue))); expected one of \(RuntimeKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        case let other?: problem("\(path).runtime", "must be a string, got \(other.typeName)")
        }
        let code = optionalString(o["code"], at: "\(path).code")
        let file = optionalString(o["file"], at: "\(path).file")
        if o["code"] != nil && o["file"] != nil {
            problem(path, "has both \"code\" and \"file\": keep exactly one")
        } else if o["code"] == nil && o["file"] == nil {
            problem(path, "has neither \"code\" nor \"file\": give the module's source inline or a file path")
        }
        let inputs = ports(o["inputs"], at: "\(path).inputs", default: ["in"])
        let outputs = ports(o["outputs"], at: "\(path).outputs", default: ["out"])
        let tags = tagList(o["tags"], at: "\(path).tags")
        let requireTags = tagList(o["requireTags"], at: "\(path).requireTags")
        let timeoutMs = timeLimit(o["timeoutMs"], at: "\(path).timeoutMs")
        let dependencies = dependencyList(o["dependencies"], runtime: runtime, at: "\(path).dependencies")
        // A module with a bad runtime still takes part in the connection
        // checks (no follow-on "no module" errors); its runtime problem is
        // already reported, so the placeholder never leaves the validator.
        guard let id else { return nil }
        return ModuleSpec(id: ModuleID(id), runtime: runtime ?? .python3, code: code, file: file,
                          inputs: inputs.map(PortName.init), outputs: outputs.map(PortName.init),
                          config: o["config"] ?? .object([:]), tags: tags, requireTags: requireTags, timeoutMs: timeoutMs,
                          dependencies: dependencies)
    }

    /// `timeoutMs`: a whole number of milliseconds, 0 (no limit) up to a day.
    mutating func timeLimit(_ json: JSONValue?, at path: String) -> Int? {
        guard let json else { return nil }
        let day = 86_400_000
        if case .int(let n) = json, n >= 0, n <= day { return n }
        problem(path, "must be a whole number of milliseconds from 0 (no limit) to \(day) (a day), got \(json.jsonText)")
        return nil
    }

    mutating func parseConnection(_ json: JSONValue, at path: String) -> Connection? {
        guard case .object(let o) = json else {
            problem(path, "a connection must be an object {\"from\": \"module.port\", \"to\": \"module.port\"}, got \(json.typeName)")
            return nil
        }
        unknownFields(o, known: Self.connectionFields, at: path)
        let from = endpoint(o["from"], at: "\(path).from")
        let to = endpoint(o["to"], at: "\(path).to")
        guard let from, let to else { return nil }
        return Connection(from: from, to: to)
    }

    mutating func endpoint(_ json: JSONValue?, at path: String) -> Endpoint? {
        switch json {
        case nil:
            problem(path, "missing: give it as \"module.port\"")
        case .string(let s)?:
            if let e = Endpoint(parsing: s) { return e }
            problem(path, "\"\(s)\" is not \"module.port\"")
        case let other?:
            problem(path, "must be a string \"module.port\", got \(other.typeName)")
        }
        return nil
    }

    mutating func identifier(_ json: JSONValue?, at path: String, what: String) -> String? {
        switch json {
        case nil:
            problem(path, "missing: every \(what == "flow id" ? "flow" : "module") needs an \"id\"")
        case .string(let s)?:
            if Identifier.isValid(s) { return s }
            problem(path, "\(what) \"\(s)\" may use only letters, digits, \"_\" and \"-\", 1 to 64 of them")
        case let other?:
            problem(path, "must be a string, got \(other.typeName)")
        }
        return nil
    }

    mutating func optionalString(_ json: JSONValue?, at path: String) -> String? {
        switch json {
        case nil: return nil
        case .string(let s)?:
            if s.isEmpty { problem(path, "is empty") }
            return s
        case let other?:
            problem(path, "must be a string, got \(other.typeName)")
            return nil
        }
    }

    mutating func ports(_ json: JSONValue?, at path: String, default defaultPorts: [String]) -> [String] {
        guard let json else { return defaultPorts }
        guard case .array(let items) = json else {
            problem(path, "must be an array of port names, got \(json.typeName)")
            return defaultPorts
        }
        var names: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else {
                problem("\(path)[\(i)]", "a port name must be a string, got \(item.typeName)")
                continue
            }
            if !Identifier.isValid(s) {
                problem("\(path)[\(i)]", "port name \"\(s)\" may use only letters, digits, \"_\" and \"-\"")
            } else if names.contains(s) {
                problem("\(path)[\(i)]", "port \"\(s)\" is listed twice")
            } else {
                names.append(s)
            }
        }
        return names
    }

    /// `tags` and `requireTags`: an array of tags (see `Tag.isValid`), each once.
    mutating func tagList(_ json: JSONValue?, at path: String) -> [String] {
        guard let json else { return [] }
        guard case .array(let items) = json else {
            problem(path, "must be an array of strings")
            return []
        }
        var tags: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else {
                problem(path, "must be an array of strings")
                return []
            }
            if !Tag.isValid(s) {
                problem("\(path)[\(i)]", "tag \"\(s)\" may use only letters, digits, \"_\", \"-\", \".\" and \":\", 1 to 64 of them")
            } else if tags.contains(s) {
                problem("\(path)[\(i)]", "tag \"\(s)\" is listed twice")
            } else {
                tags.append(s)
            }
        }
        return tags
    }

    mutating func unknownFields(_ o: [String: JSONValue], known: [String], at path: String) {
        for key in o.keys.sorted() where !known.contains(key) {
            problem(path.isEmpty ? key.clipped() : "\(path).\(key.clipped())", "unknown field\(DidYouMean.hint(for: key, among: known))")
        }
    }
}
