import FlowModel
import Foundation
import RunnerProtocol

extension RunnerHost {
    /// Builds the environments `flow`'s modules need and do not have yet,
    /// one build per distinct set, side by side. Environments that exist cost
    /// a few file checks. Throws `EnvironmentDeployError` naming the modules
    /// of the first set that failed, with the installer's last lines.
    func prepareEnvironments(for flow: FlowDocument) async throws {
        let users = flow.modules.reduce(into: [DependencySet: [ModuleID]]()) { users, m in
            if let set = m.dependencySet { users[set, default: []].append(m.id) }
        }
        guard !users.isEmpty else { return }
        let runtimes = Dictionary(uniqueKeysWithValues: await listRuntimes().map { ($0.id, $0) })
        let store = environments
        let failures = await withTaskGroup(of: (DependencySet, EnvironmentError?).self) { group in
            for (set, modules) in users {
                guard let runtime = runtimes[set.runtime] else { continue }
                group.addTask {
                    do {
                        try await store.ensure(set, runtime: runtime, flow: flow.id, modules: modules)
                        return (set, nil)
                    } catch let error as EnvironmentError {
                        return (set, error)
                    } catch {
                        return (set, .filesystem("\(error)"))
                    }
                }
            }
            var failed: [(DependencySet, EnvironmentError)] = []
            for await (set, error) in group { if let error { failed.append((set, error)) } }
            return failed.sorted { users[$0.0]!.min()! < users[$1.0]!.min()! }
        }
        if let (set, error) = failures.first {
            throw EnvironmentDeployError(flow: flow.id, modules: users[set]!.sorted(), environment: set.id, cause: error)
        }
    }

    /// The environments on this runner, with the deployed modules that use each.
    public func listEnvironments(runtime: RuntimeKind?) async -> [EnvironmentInfo] {
        let users = await environmentUsers()
        return await environments.list(runtime: runtime).filter { $0.ready }.map { entry in
            var info = entry.manifest
            info.modules = users[info.id] ?? []
            return info
        }
    }

    /// Builds (or finds) the environment of `dependencies`; returns its id.
    public func installEnvironment(runtime: RuntimeKind, dependencies: [String]) async throws -> EnvironmentID {
        guard let info = await listRuntimes().first(where: { $0.id == runtime }) else {
            throw EnvironmentError.toolMissing(runtime, "\(runtime.rawValue) is not installed on this runner")
        }
        let set = DependencySet(runtime: runtime, dependencies: dependencies)
        try await environments.ensure(set, runtime: info)
        return set.id
    }

    /// Deletes an environment no deployed module uses.
    public func removeEnvironment(_ id: EnvironmentID) async throws {
        if let users = await environmentUsers()[id], !users.isEmpty { throw EnvironmentError.inUse(id, by: users) }
        try await environments.remove(id)
    }

    /// Which deployed modules run in which environment.
    func environmentUsers() async -> [EnvironmentID: [FlowModuleID]] {
        var users: [EnvironmentID: [FlowModuleID]] = [:]
        for (id, run) in flows {
            for m in await run.plan.flow.modules {
                if let env = m.instanceKey.environment { users[env, default: []].append(FlowModuleID(flow: id, module: m.id)) }
            }
        }
        return users.mapValues { $0.sorted { $0.description < $1.description } }
    }
}

/// A deploy refused because a module's environment could not be built.
public struct EnvironmentDeployError: Error, Sendable, CustomStringConvertible {
    public var flow: FlowID
    public var modules: [ModuleID]
    public var environment: EnvironmentID
    public var cause: EnvironmentError
    public var code: ReplyCode { .dependenciesFailed }
    public var description: String {
        let names = modules.map { "\"\($0)\"" }.joined(separator: ", ")
        return "flow \"\(flow)\": the dependencies of module\(modules.count == 1 ? "" : "s") \(names) could not be installed, nothing was changed: \(cause)"
    }
}
