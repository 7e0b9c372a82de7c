import FlowModel
import Foundation
import NIOCore
import RunnerProtocol

/// What a flow run tells: its status, and the reports of its instances, which it records and publishes.
extension FlowRun {
    func status() async -> FlowRunStatus {
        var queued: [ModuleID: Int] = [:]
        var runningLong: [ModuleID: Int] = [:]
        for link in links {
            let (slots, counts, silence) = (try? await link.loop.submit {
                (link.slots, link.slots.indices.map { link.pendingCount(slot: $0) }, link.writer.silence())
            }.get()) ?? ([], [], nil)
            for (slot, count) in counts.enumerated() { queued[slots[slot].module, default: 0] += count }
            if let silence, silence.for >= Self.runningLongAfter {
                runningLong[slots[silence.slot].module] = Int(silence.for.nanoseconds / 1_000_000)
            }
        }
        let debugger = self.debugger
        let (held, breakpoints) = (try? await debugger.loop.submit { (debugger.heldSummary(), debugger.allBreakpoints) }.get()) ?? ([:], [])
        let modules = plan.flow.modules.compactMap { m -> ModuleStatus? in
            guard var status = records[m.id]?.status(queued: (queued[m.id] ?? 0) + (held[m.id]?.count ?? 0)) else { return nil }
            status.runningLongMs = runningLong[m.id]
            if let h = held[m.id] { status.queuedPayloads = h.oldest.map(Self.json) }
            return status
        }
        let paused = pausedAt.map { PausedAt(module: $0.module, port: $0.port, payload: Self.json($0.payload)) }
        // Read last: reports that arrived during the awaits above are in.
        return FlowRunStatus(flow: plan.flow.id, state: state, reason: stateReason, instances: instances.map(\.status),
                             modules: modules, breakpoints: breakpoints, pausedAt: paused)
    }

    func pids() async -> [Int32] {
        var pids: [Int32] = []
        for instance in instances { if let pid = await instance.supervisor.pid { pids.append(pid) } }
        return pids
    }

    // MARK: reports

    /// A report from the instance `key` of this run (one of a retired instance is ignored).
    func receive(_ report: InstanceReport, from key: InstanceKey) {
        guard let modules = plan.instances.first(where: { $0.key == key })?.modules else { return }
        let runtime = key.runtime
        switch report {
        case .state(let s, let pid, let restarts, let why):
            table.update(run: run, key: key) {
                $0.status.state = s
                $0.status.pid = pid
                $0.status.restarts = restarts
                $0.status.reason = why
            }
            emit(.instanceState(flow: plan.flow.id, runtime: runtime, state: s, pid: pid, restarts: restarts, reason: why))
            if s == .ready, state == .degraded, !instances.contains(where: { $0.status.state == .failed }) {
                setState(.running, reason: nil)
            }
        case .log(let module, let level, let text):
            let entry = LogRecord(time: Date(), level: level, text: text)
            if let module { records[module]?.logs.append(entry) }
            emit(.log(flow: plan.flow.id, module: module, runtime: runtime, record: entry))
        case .moduleError(let error, let origin):
            record(error: error, origin: origin)
        case .stats(let stats):
            for (module, s) in stats {
                records[module]?.current = (s.in, s.out, s.errors)
                if let st = s.state { records[module]?.moduleState = st }
            }
        case .processEnded(let committed, let states):
            for module in modules {
                records[module.id]?.processEnded(committed: committed[module.id])
                if let state = states[module.id] { records[module.id]?.moduleState = state }
            }
        case .gaveUp(let why):
            for module in modules { records[module.id]?.state = .stopped }
            setState(.degraded, reason: "\(runtime.rawValue) runtime: \(why)")
        }
    }

    /// - Parameter origin: `.host` for an error the host records (a dropped message, a process that
    ///   died with it): counted apart, as the runtime's own counters do not include it.
    func record(error: ModuleErrorReport, origin: ErrorOrigin) {
        let entry = ModuleErrorRecord(time: Date(), port: error.port, payload: error.payload?.boundedForTheDispatcher,
                                      message: error.message, stack: error.stack)
        records[error.module]?.errors.append(entry)
        if origin == .host { records[error.module]?.hostErrors += 1 }
        emit(.moduleError(flow: plan.flow.id, module: error.module, error: entry))
    }
}
