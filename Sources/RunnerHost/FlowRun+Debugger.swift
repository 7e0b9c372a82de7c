import FlowModel
import Foundation
import NIOCore
import RunnerProtocol

/// The debugger's side of a flow run: breakpoints, pause, single step, resume.
extension FlowRun {
    func setBreakpoint(_ breakpoint: Breakpoint) async throws {
        guard plan.flow.module(breakpoint.module) != nil else {
            throw RunnerError.unknownModule(plan.flow.id, breakpoint.module, known: plan.flow.modules.map(\.id.rawValue))
        }
        let debugger = self.debugger
        try await debugger.loop.submit { debugger.setBreakpoint(breakpoint) }.get()
    }

    /// Returns whether there was a breakpoint there.
    func removeBreakpoint(_ module: ModuleID) async throws -> Bool {
        guard plan.flow.module(module) != nil else {
            throw RunnerError.unknownModule(plan.flow.id, module, known: plan.flow.modules.map(\.id.rawValue))
        }
        let debugger = self.debugger
        return try await debugger.loop.submit { debugger.removeBreakpoint(module) }.get()
    }

    /// The debugger paused the flow (a breakpoint hit, or a pause before a step).
    func debuggerPaused(_ hit: FlowDebugger.Hit?) {
        guard state == .running || state == .degraded || state == .paused else { return }
        if let hit { pausedAt = hit }
        setState(.paused, reason: hit.map { "breakpoint at \($0.module)" })
        if let hit {
            emit(.paused(flow: plan.flow.id, module: hit.module, port: hit.port, payload: String(buffer: hit.payload)))
        } else {
            emit(.paused(flow: plan.flow.id, module: nil, port: nil, payload: nil))
        }
    }

    /// The first half of a step of a flow spread over runners (the dispatcher asks every runner
    /// first): pauses, lets what is in the runtimes finish, and notes which messages wait; the
    /// next `step` runs only those, so that what another runner's step sends here waits for the
    /// step after (docs/debugging.md, "Across runners").
    func markStep() async throws {
        try await pauseAndLetFinish()
        let debugger = self.debugger
        try await debugger.loop.submit { debugger.markStep() }.get()
    }

    /// Pauses the flow (running, degraded or paused already) and waits until what is already in its runtimes finished.
    private func pauseAndLetFinish() async throws {
        guard [.running, .degraded, .paused].contains(state) else { throw RunnerError.notRunning(plan.flow.id) }
        let debugger = self.debugger
        try await debugger.loop.submit { debugger.pause() }.get()
        if state != .paused { setState(.paused, reason: nil) }
        try await debugger.loop.flatSubmit { debugger.whenQuiet(timeout: Self.stepTimeout) }.get()
    }

    /// One step: each module with a queued message processes its oldest one;
    /// what that emits is queued, not processed. A running flow is paused
    /// first. Returns what each module that ran consumed, emitted, raised and
    /// its state after the step; empty when nothing was queued.
    func step() async throws -> [ModuleID: StepResult] {
        try await pauseAndLetFinish()
        let debugger = self.debugger
        let loop = debugger.loop

        for instance in instances { await instance.supervisor.beginCollectingErrors() }
        let started = try await loop.submit { debugger.beginStep() }.get()
        var result: [ModuleID: StepResult] = [:]
        if started {
            pausedAt = nil
            do {
                try await loop.flatSubmit { debugger.whenQuiet(timeout: Self.stepTimeout) }.get()
            } catch {
                _ = try? await loop.submit { debugger.finishStep() }.get()
                for instance in instances { _ = await instance.supervisor.requestReport(timeout: .zero) }
                throw error
            }
            let records = try await loop.submit { debugger.finishStep() }.get()
            for instance in instances {
                let hosted = Set(instance.plan.modules.map(\.id))
                let ran = hosted.intersection(records.keys)
                let report = await instance.supervisor.requestReport(timeout: ran.isEmpty ? .zero : .seconds(10))
                for module in ran {
                    let record = records[module]!
                    result[module] = StepResult(
                        inputStates: record.inputs.mapValues { Self.json($0.last!) },
                        outputStates: record.outputs.mapValues { $0.map(Self.json) },
                        errors: report.errors.filter { $0.module == module }.map { StepError(message: $0.message, stack: $0.stack) },
                        state: report.states[module] ?? self.records[module]?.moduleState ?? .object([:]))
                    if let state = report.states[module] { self.records[module]?.moduleState = state }
                }
            }
        } else {
            for instance in instances { _ = await instance.supervisor.requestReport(timeout: .zero) }
        }
        emit(.stepped(flow: plan.flow.id, result: Self.stepJSON(flow: plan.flow.id, result)))
        return result
    }

    /// Runs on until the next breakpoint. Returns false when the flow was not
    /// paused. When a held message hits a breakpoint as it is released, the
    /// flow says so at once: `paused` at that module, not `running`.
    func resume() async throws -> Bool {
        guard state == .paused else { return false }
        let debugger = self.debugger
        let outcome = try await debugger.loop.submit { debugger.resume() }.get()
        pausedAt = nil
        setState(.running, reason: nil)
        emit(.resumed(flow: plan.flow.id))
        if case .pausedAgain(let hit) = outcome { debuggerPaused(hit) }
        return true
    }

    static func json(_ payload: ByteBuffer) -> JSONValue {
        (try? JSONValue(parsing: Data(payload.readableBytesView), nesting: .userValue)) ?? .string(String(buffer: payload))
    }

    /// `{ "flow/module": {inputStates, outputStates, errors, state} }`, as the API returns it.
    static func stepJSON(flow: FlowID, _ result: [ModuleID: StepResult]) -> JSONValue {
        var out: [String: JSONValue] = [:]
        for (module, r) in result { out["\(flow)/\(module)"] = r.json }
        return .object(out)
    }
}

/// What one module did in one debugger step.
public struct StepResult: Sendable, Equatable {
    /// The message it consumed, by input port.
    public var inputStates: [PortName: JSONValue]
    /// The messages it emitted, by output port, in order.
    public var outputStates: [PortName: [JSONValue]]
    public var errors: [StepError]
    /// Its `ctx.state` after the step.
    public var state: JSONValue

    public var json: JSONValue {
        .object([
            "inputStates": .object(Dictionary(uniqueKeysWithValues: inputStates.map { ($0.key.rawValue, $0.value) })),
            "outputStates": .object(Dictionary(uniqueKeysWithValues: outputStates.map { ($0.key.rawValue, .array($0.value)) })),
            "errors": .array(errors.map { .object(["message": .string($0.message), "stack": $0.stack.map(JSONValue.string) ?? .null]) }),
            "state": state,
        ])
    }
}

public struct StepError: Sendable, Equatable {
    public var message: String
    public var stack: String?
}

extension FlowRun {
    /// Started as a new part of a paused flow (its debugger paused from the start): says so.
    func startedPaused() {
        guard state == .running || state == .degraded else { return }
        setState(.paused, reason: nil)
    }

    /// Holds the flow's messages here (another runner of the flow hit a breakpoint).
    func pause() async throws {
        let debugger = self.debugger
        try await debugger.loop.submit { debugger.pause() }.get()
    }
}
