import FlowModel
import RunnerProtocol

/// One flow's status from the parts its runners report, plus the modules that run nowhere
/// and those whose runner did not answer (`unreachable`: runner → why).
enum FlowStatusMerge {
    /// - Parameter injected: messages the dispatcher's inject stream holds for a module (for `waiting`).
    static func merge(flow: FlowDocument, parts: [FlowRunStatus], placement: [FlowModuleID: ModulePlacement],
                      unreachable: [RunnerID: String] = [:], savedStates: [ModuleID: JSONValue] = [:],
                      injected: [ModuleID: Int] = [:]) -> FlowRunStatus {
        var modules: [ModuleID: ModuleStatus] = [:]
        for part in parts { for m in part.modules { modules[m.id] = m } }
        var unplaced: [String] = []
        for m in flow.modules where modules[m.id] == nil {
            switch placement[FlowModuleID(flow: flow.id, module: m.id)] {
            case .unplaced(let reason, _):
                modules[m.id] = .unplaced(m.id, runtime: m.runtime, reason: reason.description)
                unplaced.append("module \(m.id) runs on no runner: \(reason)")
            case .placed(let runner, _):
                let why = unreachable[runner] ?? "runner \(runner) is not connected; its modules will be placed again"
                modules[m.id] = .unreachable(m.id, runtime: m.runtime, runner: runner, reason: why, state: savedStates[m.id])
                unplaced.append("module \(m.id) is on runner \(runner), which does not answer: \(why)")
            case nil:
                break
            }
        }
        // What waits for a module that runs nowhere now: held by the other parts and the inject stream.
        for m in flow.modules {
            guard let status = modules[m.id], status.state == .unplaced || status.state == .unreachable else { continue }
            modules[m.id]?.waiting = parts.reduce(injected[m.id] ?? 0) { $0 + ($1.waitingFor?[m.id.rawValue] ?? 0) }
        }
        let states = Set(parts.map(\.state))
        let state: FlowRunState
        if states.contains(.paused) { state = .paused }
        else if states.contains(.degraded) || !unplaced.isEmpty { state = .degraded }
        else if states.contains(.running) { state = .running }
        else if states.contains(.stopped) { state = .stopped }
        else { state = .deployed }
        let reasons = parts.compactMap(\.reason) + unplaced
        var redelivered: [String: Int] = [:]
        for part in parts { for (m, n) in part.redelivered ?? [:] { redelivered[m, default: 0] += n } }
        let stale = parts.reduce(0) { $0 + ($1.staleFrames ?? 0) }
        var merged = FlowRunStatus(
            flow: flow.id, state: state, reason: reasons.isEmpty ? nil : reasons.joined(separator: "; "),
            instances: parts.flatMap(\.instances),
            modules: flow.modules.compactMap { modules[$0.id] },
            breakpoints: parts.flatMap(\.breakpoints).sorted { $0.module < $1.module },
            pausedAt: parts.compactMap(\.pausedAt).first)
        merged.staleFrames = stale
        merged.redelivered = redelivered
        return merged
    }
}
