import FlowModel
import RunnerProtocol

/// Debugger steps on this runner: one flow's, or every paused flow's.
extension RunnerHost {
    /// One debugger step of a flow, or of every paused flow when `id` is nil.
    public func step(_ id: FlowID?) async throws -> JSONValue {
        var out: [String: JSONValue] = [:]
        for r in try await stepTargets(id) {
            let id = await r.plan.flow.id
            for (module, result) in try await r.step() { out["\(id)/\(module)"] = result.json }
        }
        return .object(out)
    }

    /// The first half of a step across runners (`FlowRun.markStep`): each flow notes what waits now.
    public func markStep(_ id: FlowID?) async throws {
        for r in try await stepTargets(id) { try await r.markStep() }
    }

    /// The flow `id`, or every paused flow when it is nil.
    private func stepTargets(_ id: FlowID?) async throws -> [FlowRun] {
        if let id { return [try run(id)] }
        var paused: [FlowRun] = []
        for id in flows.keys.sorted() { if let r = flows[id], await r.state == .paused { paused.append(r) } }
        return paused
    }
}
