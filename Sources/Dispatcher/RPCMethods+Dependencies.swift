import FlowModel
import Foundation
import RunnerProtocol

extension RPCMethods {
    /// `listDependencies {runtimeId?}`, `installDependencies {runtimeId, dependencies}`,
    /// `removeDependencies {envId}` (docs/dependencies.md).
    func dependencies(_ call: RPCMethod, _ params: RPCParams) async throws -> JSONValue {
        let method = call.rawValue
        switch call {
        case .listDependencies:
            let runtime = try params.optionalString("runtimeId").map { try Self.environmentRuntime($0, method: method) }
            // Every runner's environments (a joined runner builds those of the modules placed on it), each naming its runner.
            var all: [EnvironmentInfo] = []
            for (runner, link) in await registry.connectedLinks() {
                if case .environments(var list) = await link.send(.listEnvironments(runtime)) {
                    for i in list.indices { list[i].runner = runner.rawValue }
                    all += list
                }
            }
            return try Self.encode(all.sorted { ($0.runner, $0.id.rawValue) < ($1.runner, $1.id.rawValue) })
        case .installDependencies:
            let runtime = try Self.environmentRuntime(try params.string("runtimeId"), method: method)
            let list = try Self.dependencyList(try params.require("dependencies"), runtime: runtime, method: method)
            switch await registry.sendToRunner(.installEnvironment(runtime, dependencies: list)) {
            case .environment(let id): return .object(["envId": .string(id.rawValue)])
            case .failure(let code, let message): throw APIError.runner(code: code, message: message)
            default: throw APIError.runner(code: .internalError, message: "the runner gave no environment id")
            }
        default:  // .removeDependencies (the caller sends no other method here)
            let text = try params.string("envId")
            guard let id = EnvironmentID(parsing: text) else {
                throw APIError.invalidParams("\(method): \"envId\" \"\(text.clipped())\" is not an environment id (like \"python3-\" and 20 hex digits): see listDependencies")
            }
            switch await registry.sendToRunner(.removeEnvironment(id)) {
            case .failure(let code, let message): throw APIError.runner(code: code, message: message)
            default: return .bool(true)
            }
        }
    }

    static func environmentRuntime(_ name: String, method: String) throws -> RuntimeKind {
        guard let kind = RuntimeKind(rawValue: name), kind.hasEnvironments else {
            let names = RuntimeKind.allCases.filter(\.hasEnvironments).map(\.rawValue)
            throw APIError.invalidParams("\(method): no runtime with dependencies \"\(name.clipped())\"\(DidYouMean.hint(for: name, among: names)); runtimes: \(names.joined(separator: ", "))")
        }
        return kind
    }

    /// The list, checked entry by entry like a module's `dependencies`.
    static func dependencyList(_ json: JSONValue, runtime: RuntimeKind, method: String) throws -> [String] {
        let (list, issues) = DependencySpec.check(json, runtime: runtime)
        guard issues.isEmpty else {
            let lines = issues.map(\.description)
            throw APIError(code: -32602, message: "invalid params: \(method): " + lines.joined(separator: "; "),
                           data: .object(["code": "invalid-dependencies", "issues": .array(issues.map {
                               .object(["path": .string($0.path), "reason": .string($0.reason)]) })]))
        }
        guard !list.isEmpty else { throw APIError.invalidParams("\(method): \"dependencies\" is empty: list at least one package") }
        return list
    }
}
