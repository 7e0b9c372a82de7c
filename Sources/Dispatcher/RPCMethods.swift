import FlowModel
import Foundation
import PipeBridge
import RunnerProtocol

/// The JSON-RPC methods of the API (names as in the Runner API).
public struct RPCMethods: Sendable {
    let registry: FlowRegistry

    public init(registry: FlowRegistry) { self.registry = registry }

    /// Runs one method; `subscribe` is handled by the WebSocket session, not here.
    func call(_ name: String, params json: JSONValue?) async throws -> JSONValue {
        guard let method = RPCMethod(rawValue: name) else { throw APIError.methodNotFound(name, known: RPCMethod.names) }
        let params = try RPCParams(method: name, json: json)
        switch method {
        case .listRuntimes:
            return await listRuntimes()
        case .listRunners:
            return await listRunners()
        case .listFlowsForRuntime:
            let name = try params.string("runtimeId")
            guard let kind = RuntimeKind(rawValue: name) else {
                throw APIError.invalidParams("unknown runtime \"\(name.clipped())\"\(DidYouMean.hint(for: name, among: RuntimeKind.allCases.map(\.rawValue))); runtimes: \(RuntimeKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return try await listFlows(runtime: kind)
        case .addOrUpdateFlow:
            _ = try await registry.addOrUpdate(try params.require("flow"), expectedRevision: try params.optionalInt("expectedRevision"),
                                               start: try params.optionalBool("start"))
            return .bool(true)
        case .removeFlow:
            try await registry.remove(try params.flowID())
            return .bool(true)
        case .startFlow, .stopFlow:
            try await registry.setRunning(try params.flowID(), method == .startFlow)
            return .bool(true)
        case .setBreakPointAtModule:
            try await registry.setBreakpoint(try params.flowModuleID(), condition: params.optional("condition"))
            return .bool(true)
        case .removeBreakPointAtModule:
            return .bool(try await registry.removeBreakpoint(try params.flowModuleID()))
        case .singleStepFlow:
            return try await registry.step(try params.optionalString("flowId").map { _ in try params.flowID() })
        case .resumeFlow:
            return .bool(try await registry.resume(try params.flowID()))
        case .inject:
            let target = try params.flowModuleID()
            let port = try params.optionalString("port").map(PortName.init)
            try await registry.inject(target, port: port, payload: try params.require("payload"))
            return .bool(true)
        case .getFlow:
            return try await getFlow(try params.flowID())
        case .listFlows:
            return try await listFlows(runtime: nil)
        case .status:
            return try await status()
        case .listDependencies, .installDependencies, .removeDependencies:
            return try await dependencies(method, params)
        case .subscribe:
            throw APIError(code: -32601, message: "subscribe needs a WebSocket connection to /rpc; plain HTTP cannot carry events")
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
            o["staleFrames"] = .int(status.staleFrames ?? 0)
            o["redelivered"] = try Self.encode(status.redelivered ?? [:])
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

    /// The union of the runners' runtimes; each entry says which runners have it.
    func listRuntimes() async -> JSONValue {
        let table = await registry.runtimes()
        return .array(table.keys.sorted().compactMap { kind in
            guard let runners = table[kind], let first = runners.first else { return nil }
            return .object(["id": .string(kind.rawValue), "name": .string(first.1.name), "version": .string(first.1.version),
                            "runners": .array(runners.map { .object(["id": .string($0.0.rawValue), "version": .string($0.1.version)]) })])
        })
    }

    /// `[{id, name, tags, runtimes, state, lastSeenMs, modules}]`.
    func listRunners() async -> JSONValue {
        let placement = await registry.currentPlacement()
        var modules: [RunnerID: [String]] = [:]
        for (key, p) in placement { if let r = p.runner { modules[r, default: []].append("\(key.flow)/\(key.module)") } }
        let now = Date()
        return .array(await registry.directory.list().map { entry in
            let info = entry.info
            var o: [String: JSONValue] = [
                "id": .string(info.id.rawValue), "name": .string(info.id.rawValue),
                "tags": .array(info.tags.map { .string($0) }),
                "runtimes": .array(info.runtimes.map { .object(["id": .string($0.id.rawValue), "name": .string($0.name), "version": .string($0.version)]) }),
                "state": .string(info.state.rawValue),
                "local": .bool(info.local),
                "session": .int(info.session),
                "lastSeenMs": entry.lastSeen.map { .int(Int(now.timeIntervalSince($0) * 1000)) } ?? .null,
                "modules": .array((modules[info.id] ?? []).sorted().map { .string($0) }),
            ]
            if let reason = info.reason { o["reason"] = .string(reason) }
            return .object(o)
        })
    }

    func status() async throws -> JSONValue {
        let flows = try await registry.runnerStatus(nil)
        var runners = await listRunners().arrayValue ?? []
        for i in runners.indices {
            guard case .object(var o) = runners[i], let id = o["id"]?.stringValue else { continue }
            let mine = flows.compactMap { f -> FlowRunStatus? in
                var f = f
                f.modules = f.modules.filter { $0.runner == id }
                f.instances = f.instances.filter { $0.runner == id }
                return f.modules.isEmpty ? nil : f
            }
            o["flows"] = try Self.encode(mine)
            runners[i] = .object(o)
        }
        return .object(["runners": .array(runners), "flows": try Self.encode(flows)])
    }

    static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return try JSONDecoder().decode(JSONValue.self, from: encoder.encode(value))
    }
}
