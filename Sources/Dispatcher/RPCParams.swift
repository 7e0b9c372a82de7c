import FlowModel

/// Named params of one JSON-RPC call, with readable errors for missing or mistyped fields.
struct RPCParams {
    let method: String
    let values: [String: JSONValue]

    init(method: String, json: JSONValue?) throws {
        self.method = method
        switch json {
        case nil, .null?: values = [:]
        case .object(let o)?: values = o
        case let other?: throw APIError.invalidParams("\(method) takes named params (a JSON object), got \(other.typeName)")
        }
    }

    func string(_ name: String) throws -> String {
        guard let v = values[name] else { throw APIError.invalidParams("\(method) needs \"\(name)\"") }
        guard case .string(let s) = v else { throw APIError.invalidParams("\(method): \"\(name)\" must be a string, got \(v.typeName)") }
        return s
    }

    func optionalString(_ name: String) throws -> String? {
        guard let v = values[name], v != .null else { return nil }
        guard case .string(let s) = v else { throw APIError.invalidParams("\(method): \"\(name)\" must be a string, got \(v.typeName)") }
        return s
    }

    func optionalInt(_ name: String) throws -> Int? {
        guard let v = values[name], v != .null else { return nil }
        guard let i = v.intValue else { throw APIError.invalidParams("\(method): \"\(name)\" must be an integer, got \(v.typeName)") }
        return i
    }

    func optionalBool(_ name: String) throws -> Bool? {
        guard let v = values[name], v != .null else { return nil }
        guard case .bool(let b) = v else { throw APIError.invalidParams("\(method): \"\(name)\" must be true or false, got \(v.typeName)") }
        return b
    }

    func flowID(_ name: String = "flowId") throws -> FlowID {
        let s = try string(name)
        guard Identifier.isValid(s) else { throw APIError.invalidParams("\(method): \"\(name)\" \"\(s)\" is not a flow id (letters, digits, _ and -)") }
        return FlowID(s)
    }

    func flowModuleID(_ name: String = "flowModuleId") throws -> FlowModuleID {
        let s = try string(name)
        guard let id = FlowModuleID(parsing: s) else {
            throw APIError.invalidParams("\(method): \"\(name)\" must be \"flow/module\", got \"\(s)\"")
        }
        return id
    }

    func optional(_ name: String) -> JSONValue? {
        guard let v = values[name], v != .null else { return nil }
        return v
    }

    func require(_ name: String) throws -> JSONValue {
        guard let v = values[name] else { throw APIError.invalidParams("\(method) needs \"\(name)\"") }
        return v
    }
}
