import FlowModel
import Foundation
import PipeBridge
import RunnerHost

/// The JSON-RPC methods of the API (names as in the Runner API).
public struct RPCMethods: Sendable {
    let registry: FlowRegistry

    public init(registry: FlowRegistry) { self.registry = registry }

    static let names = ["listRuntimes", "listFlowsForRuntime", "addOrUpdateFlow", "removeFlow", "startFlow", "stopFlow",
                        "inject", "getFlow", "listFlows", "status", "subscribe",
                        "setBreakPointAtModule", "removeBreakPointAtModule", "singleStepFlow", "resumeFlow",
                        "listDependencies", "installDependencies", "removeDependencies"]

    /// Runs one method; `subscribe` is handled by the WebSocket session, not here.
    func call(_ method: String, params json: JSONValue?) async throws -> JSONValue {
        let params = try RPCParams(method: method, json: json)
        switch method {
        case "listRuntimes":
            return .array(try await registry.runtimes().map { .object(["id": .string($0.id.rawValue), "name": .string($0.name), "version": .string($0.version)]) })
        case "listFlowsForRuntime":
            let name = try params.string("runtimeId")
            guard let kind = RuntimeKind(rawValue: name) else {
                throw APIError.invalidParams("unknown runtime \"\(name.clipped())\"\(DidYouMean.hint(for: name, among: RuntimeKind.allCases.map(\.rawValue))); runtimes: \(RuntimeKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return try await listFlows(runtime: kind)
        case "addOrUpdateFlow":
            _ = try await registry.addOrUpdate(try params.require("flow"), expectedRevision: try params.optionalInt("expectedRevision"),
                                               start: try params.optionalBool("start"))
            return .bool(true)
        case "removeFlow":
            try await registry.remove(try params.flowID())
            return .bool(true)
        case "startFlow", "stopFlow":
            try await registry.setRunning(try params.flowID(), method == "startFlow")
            return .bool(true)
        case "setBreakPointAtModule":
            try await registry.setBreakpoint(try params.flowModuleID(), condition: params.optional("condition"))
            return .bool(true)
        case "removeBreakPointAtModule":
            return .bool(try await registry.removeBreakpoint(try params.flowModuleID()))
        case "singleStepFlow":
            return try await registry.step(try params.optionalString("flowId").map { _ in try params.flowID() })
        case "resumeFlow":
            return .bool(try await registry.resume(try params.flowID()))
        case "inject":
            let target = try params.flowModuleID()
            let port = try params.optionalString("port").map(PortName.init)
            try await registry.inject(target, port: port, payload: try params.require("payload"))
            return .bool(true)
        case "getFlow":
            return try await getFlow(try params.flowID())
        case "listFlows":
            return try await listFlows(runtime: nil)
        case "status":
            return try await status()
        case "listDependencies", "installDependencies", "removeDependencies":
            return try await dependencies(method, params)
        case "subscribe":
            throw APIError(code: -32601, message: "subscribe needs a WebSocket connection to /rpc; plain HTTP cannot carry events")
        default:
            throw APIError.methodNotFound(method, known: Self.names)
        }
    }

    func getFlow(_ id: FlowID) async throws -> JSONValue {
        let stored = try await registry.stored(id)
        let status = try await registry.runnerStatus(id).first
        var o: [String: JSONValue] = [
            "flow": try Self.encode(stored.flow),
            "revision": .int(stored.revision),
            "started": .bool(stored.started),
            "status": .string(status?.state.rawValue ?? "deployed"),
        ]
        o["breakpoints"] = try Self.encode(stored.breakpoints)
        if let status {
            o["reason"] = status.reason.map { .string($0) } ?? .null
            if let at = status.pausedAt { o["pausedAt"] = try Self.encode(at) }
            o["modules"] = try Self.encode(status.modules)
            o["instances"] = try Self.encode(status.instances)
        }
        return .object(o)
    }

    func listFlows(runtime: RuntimeKind?) async throws -> JSONValue {
        let statuses = Dictionary(uniqueKeysWithValues: try await registry.runnerStatus(nil).map { ($0.flow, $0) })
        var out: [JSONValue] = []
        for stored in await registry.all() {
            let runtimes = Array(Set(stored.flow.modules.map(\.runtime))).sorted()
            if let runtime, !runtimes.contains(runtime) { continue }
            out.append(.object([
                "id": .string(stored.flow.id.rawValue),
                "description": stored.flow.description.map { .string($0) } ?? .null,
                "revision": .int(stored.revision),
                "started": .bool(stored.started),
                "status": .string(statuses[stored.flow.id]?.state.rawValue ?? "deployed"),
                "modules": .int(stored.flow.modules.count),
                "runtimes": .array(runtimes.map { .string($0.rawValue) }),
            ]))
        }
        return .array(out)
    }

    func status() async throws -> JSONValue {
        let flows = try await registry.runnerStatus(nil)
        let runtimes = try await registry.runtimes()
        return .object([
            "runners": .array([.object([
                "id": .string(await registry.runnerID),
                "state": "connected",
                "runtimes": .array(runtimes.map { .object(["id": .string($0.id.rawValue), "name": .string($0.name), "version": .string($0.version)]) }),
                "flows": try Self.encode(flows),
            ])]),
        ])
    }

    static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return try JSONDecoder().decode(JSONValue.self, from: encoder.encode(value))
    }
}
