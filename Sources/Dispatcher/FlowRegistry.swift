import FlowModel
import Foundation
import Logging
import PipeBridge
import RunnerHost

/// The dispatcher's flows: their documents, revisions and whether they were
/// started, kept in the state directory and placed on the runner. Changes to
/// flows are applied one at a time.
public actor FlowRegistry {
    private var flows: [FlowID: StoredFlow] = [:]
    private let store: StateStore
    private let runner: any RunnerLink
    private let gate = SerialGate()
    private let logger: Logger

    public init(store: StateStore, runner: any RunnerLink, logger: Logger) {
        self.store = store
        self.runner = runner
        self.logger = logger
    }

    /// Brings back the flows of the state directory, starting those that were running.
    public func restore() async throws {
        try store.prepare()
        let (all, unreadable) = store.loadAll()
        for problem in unreadable { logger.error("could not restore a flow: \(problem)") }
        for stored in all {
            flows[stored.flow.id] = stored
            let deploy = RunnerCommand.deploy(stored.flow, breakpoints: stored.breakpoints, revision: stored.revision,
                                              states: stored.restorableStates)
            if case .failure(_, let message) = await runner.send(deploy) {
                logger.error("could not restore flow \(stored.flow.id): \(message)")
                continue
            }
            if stored.started, case .failure(_, let message) = await runner.send(.start(stored.flow.id)) {
                logger.error("could not start restored flow \(stored.flow.id): \(message)")
            }
        }
    }

    /// Validates, deploys and stores a flow; a new flow is started unless `start` is false.
    /// Returns the new revision.
    @discardableResult
    public func addOrUpdate(_ json: JSONValue, expectedRevision: Int? = nil, start: Bool? = nil) async throws -> Int {
        let flow: FlowDocument
        do { flow = try FlowValidator(requireInlineCode: true).validate(json) } catch { throw APIError.validation(error) }
        return try await gate.run {
            try await self.apply(flow, expectedRevision: expectedRevision, start: start)
        }
    }

    private func apply(_ flow: FlowDocument, expectedRevision: Int?, start: Bool?) async throws -> Int {
        let existing = flows[flow.id]
        if let expectedRevision, expectedRevision != (existing?.revision ?? 0) {
            throw APIError.conflict(flow.id, expected: expectedRevision, actual: existing?.revision ?? 0)
        }
        // Breakpoints stay with the modules that still exist.
        let breakpoints = (existing?.breakpoints ?? []).filter { flow.module($0.module) != nil }
        let revision = (existing?.revision ?? 0) + (existing?.flow == flow ? 0 : 1)
        let shouldStart = start ?? (existing?.started ?? true)
        // A new flow that starts does it in the deploy: its first start is its load check.
        let startsNow = existing == nil && shouldStart
        try check(await runner.send(.deploy(flow, breakpoints: breakpoints, revision: revision, start: startsNow)))
        var stored = StoredFlow(flow: flow, revision: revision, started: startsNow || (existing?.started ?? false), breakpoints: breakpoints,
                                moduleStates: existing?.moduleStates ?? [:], statesSavedAt: existing?.statesSavedAt)
        if shouldStart && !stored.started {
            do {
                try check(await runner.send(.start(flow.id)))
            } catch {
                // A new flow that does not start (an `init` threw) is not deployed either.
                if existing == nil { _ = await runner.send(.remove(flow.id)) }
                throw error
            }
            stored.started = true
        }
        try save(stored)
        return stored.revision
    }

    public func remove(_ id: FlowID) async throws {
        try await gate.run {
            try await self.removeNow(id)
        }
    }

    private func removeNow(_ id: FlowID) async throws {
        guard flows[id] != nil else { throw APIError.runner(code: "unknown-flow", message: RunnerError.unknownFlow(id).description) }
        try check(await runner.send(.remove(id)))
        flows[id] = nil
        store.delete(id)
    }

    public func setRunning(_ id: FlowID, _ running: Bool) async throws {
        try await gate.run {
            try await self.setRunningNow(id, running)
        }
    }

    private func setRunningNow(_ id: FlowID, _ running: Bool) async throws {
        guard var stored = flows[id] else { throw APIError.runner(code: "unknown-flow", message: RunnerError.unknownFlow(id).description) }
        try check(await runner.send(running ? .start(id) : .stop(id)))
        stored.started = running
        try save(stored)
    }

    public func inject(_ target: FlowModuleID, port: PortName?, payload: JSONValue) async throws {
        guard flows[target.flow] != nil else {
            throw APIError.runner(code: "unknown-flow", message: RunnerError.unknownFlow(target.flow).description)
        }
        try check(await runner.send(.inject(flow: target.flow, module: target.module, port: port, payload: payload.jsonText)))
    }

    // MARK: debugger

    public func setBreakpoint(_ target: FlowModuleID, condition: JSONValue?) async throws {
        let parsed: BreakCondition?
        do { parsed = try condition.map { json throws(BreakConditionError) in try BreakCondition(json: json) } } catch {
            throw APIError.invalidParams("setBreakPointAtModule: \(error.description)")
        }
        try await gate.run { try await self.setBreakpointNow(Breakpoint(module: target.module, condition: parsed), in: target.flow) }
    }

    private func setBreakpointNow(_ breakpoint: Breakpoint, in flow: FlowID) async throws {
        var stored = try stored(flow)
        try check(await runner.send(.setBreakpoint(flow: flow, breakpoint)))
        stored.breakpoints.removeAll { $0.module == breakpoint.module }
        stored.breakpoints.append(breakpoint)
        stored.breakpoints.sort { $0.module < $1.module }
        try save(stored)
    }

    /// Returns whether there was a breakpoint there.
    public func removeBreakpoint(_ target: FlowModuleID) async throws -> Bool {
        try await gate.run { try await self.removeBreakpointNow(target) }
    }

    private func removeBreakpointNow(_ target: FlowModuleID) async throws -> Bool {
        var stored = try stored(target.flow)
        let reply = await runner.send(.removeBreakpoint(flow: target.flow, module: target.module))
        try check(reply)
        stored.breakpoints.removeAll { $0.module == target.module }
        try save(stored)
        if case .bool(let had) = reply { return had }
        return false
    }

    /// One step of a flow, or of every paused flow.
    public func step(_ id: FlowID?) async throws -> JSONValue {
        if let id { _ = try stored(id) }
        let reply = await runner.send(.step(id))
        try check(reply)
        if case .step(let result) = reply { return result }
        return .object([:])
    }

    public func resume(_ id: FlowID) async throws -> Bool {
        _ = try stored(id)
        let reply = await runner.send(.resume(id))
        try check(reply)
        if case .bool(let b) = reply { return b }
        return false
    }

    public func stored(_ id: FlowID) throws -> StoredFlow {
        guard let stored = flows[id] else { throw APIError.runner(code: "unknown-flow", message: RunnerError.unknownFlow(id).description) }
        return stored
    }

    public func all() -> [StoredFlow] { flows.values.sorted { $0.flow.id < $1.flow.id } }

    public func runnerStatus(_ id: FlowID?) async throws -> [FlowRunStatus] {
        switch await runner.send(.status(id)) {
        case .status(let s): return s
        case .failure(let code, let message): throw APIError.runner(code: code, message: message)
        default: return []
        }
    }

    public func runtimes() async throws -> [RuntimeInfo] {
        switch await runner.send(.listRuntimes) {
        case .runtimes(let r): return r
        case .failure(let code, let message): throw APIError.runner(code: code, message: message)
        default: return []
        }
    }

    public var runnerID: String { runner.runnerID }

    /// Passes a command that concerns no flow (dependency environments) to the runner.
    func sendToRunner(_ command: RunnerCommand) async -> RunnerReply { await runner.send(command) }

    // MARK: module states

    /// Saves each flow's module states where they changed since the last save.
    public func persistModuleStates() async {
        guard let statuses = try? await runnerStatus(nil) else { return }
        await gate.runQuietly {
            await self.saveStates(statuses)
        }
    }

    private func saveStates(_ statuses: [FlowRunStatus]) {
        for status in statuses {
            guard var stored = flows[status.flow] else { continue }
            var states = stored.moduleStates
            for m in status.modules { if let s = m.moduleState { states[m.id.rawValue] = s } }
            guard states != stored.moduleStates else { continue }
            stored.moduleStates = states
            stored.statesSavedAt = Date()
            do { try save(stored) } catch { logger.error("could not save module states of flow \(status.flow): \(error)") }
        }
    }

    /// At shutdown: stops every flow (its runtimes report their final
    /// states), saves the states, and leaves `started` as it was, so that
    /// the next start runs what ran.
    public func stopAllAndSaveStates() async {
        await gate.runQuietly { await self.stopAllNow() }
    }

    private func stopAllNow() async {
        for id in flows.keys.sorted() { _ = await runner.send(.stop(id)) }
        if let statuses = try? await runnerStatus(nil) { saveStates(statuses) }
    }

    private func save(_ stored: StoredFlow) throws {
        try store.save(stored)
        flows[stored.flow.id] = stored
    }

    private func check(_ reply: RunnerReply) throws {
        if case .failure(let code, let message) = reply { throw APIError.runner(code: code, message: message) }
    }
}
