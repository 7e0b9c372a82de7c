import FlowModel
import Foundation
import NIOConcurrencyHelpers
import RunnerProtocol

/// The kinds of events a subscriber can ask for.
public enum EventKind: String, Sendable, CaseIterable {
    case output, error, log, state, debug, swap, dependencies
}

/// Fans runner events out to subscribers as JSON text. Each subscriber has a
/// buffer bounded in count and bytes (`EventQueue`): a subscriber that falls
/// behind loses the oldest events and is told how many with a `dropped`
/// event; the flows never wait for it, and its memory is freed when it leaves.
public final class EventHub: Sendable {
    public struct Filter: Sendable {
        public var flow: FlowID?
        public var kinds: Set<EventKind>
        public init(flow: FlowID? = nil, kinds: Set<EventKind> = Set(EventKind.allCases)) { self.flow = flow; self.kinds = kinds }
    }

    private struct Subscriber {
        var filter: Filter
        var queue: EventQueue
    }

    private let subscribers = NIOLockedValueBox<[UInt64: Subscriber]>([:])
    private let nextID = NIOLockedValueBox<UInt64>(0)
    let limits: EventQueue.Limits

    init(limits: EventQueue.Limits = .init()) { self.limits = limits }

    /// A sequence of event JSON texts; ends when `cancel` is called with the returned id.
    func subscribe(_ filter: Filter) -> (UInt64, EventQueue) {
        let queue = EventQueue(limits: limits, flow: filter.flow?.rawValue)
        let id = nextID.withLockedValue { $0 += 1; return $0 }
        subscribers.withLockedValue { $0[id] = Subscriber(filter: filter, queue: queue) }
        return (id, queue)
    }

    public func cancel(_ id: UInt64) {
        let removed = subscribers.withLockedValue { $0.removeValue(forKey: id) }
        removed?.queue.finish()
    }

    public var subscriberCount: Int { subscribers.withLockedValue { $0.count } }

    public func publish(_ event: RunnerEvent) {
        let kind = Self.kind(of: event)
        let flow = event.flow
        let targets = subscribers.withLockedValue { subs in
            subs.values.filter { $0.filter.kinds.contains(kind) && ($0.filter.flow == nil || $0.filter.flow == flow) }.map(\.queue)
        }
        guard !targets.isEmpty else { return }
        let text = Self.json(event)
        for queue in targets { queue.push(text) }
    }

    /// A runner joined (`live`) or was `lost` (with why): `{"type":"runnerState","runner":…,"state":…,"reason":…}`,
    /// a `state` event for every subscriber of state events, whatever flow it follows (a runner serves many).
    public func publishRunner(_ runner: RunnerID, state: String, reason: String?) {
        let targets = subscribers.withLockedValue { subs in subs.values.filter { $0.filter.kinds.contains(.state) }.map(\.queue) }
        guard !targets.isEmpty else { return }
        let text = JSONValue.object(["type": "runnerState", "runner": .string(runner.rawValue), "state": .string(state),
                                     "reason": reason.map { .string($0) } ?? .null]).jsonText
        for queue in targets { queue.push(text) }
    }

    static func kind(of event: RunnerEvent) -> EventKind {
        switch event {
        case .output: .output
        case .moduleError: .error
        case .log: .log
        case .flowState, .instanceState: .state
        case .paused, .stepped, .resumed: .debug
        case .swapped: .swap
        case .dependencies: .dependencies
        }
    }

    /// The event as the API sends it (`params` of an `event` notification). An
    /// output's payload is spliced in as the JSON text it already is (a joined
    /// runner's was checked first: `checked`).
    static func json(_ event: RunnerEvent) -> String {
        switch event {
        case .output(let flow, let module, let port, let payload):
            return "{\"type\":\"output\",\"flowId\":\(quote(flow.rawValue)),\"module\":\(quote(module.rawValue)),\"port\":\(quote(port.rawValue)),\"payload\":\(payload)}"
        case .moduleError(let flow, let module, let error):
            var o: [String: JSONValue] = ["type": "error", "flowId": .string(flow.rawValue), "module": .string(module.rawValue),
                                          "message": .string(error.message), "time": .string(timestamp(error.time))]
            if let p = error.port { o["port"] = .string(p.rawValue) }
            if let p = error.payload { o["payload"] = p }
            if let s = error.stack { o["stack"] = .string(s) }
            return JSONValue.object(o).jsonText
        case .log(let flow, let module, let runtime, let record):
            return JSONValue.object(["type": "log", "flowId": .string(flow.rawValue), "module": module.map { .string($0.rawValue) } ?? .null,
                                     "runtime": .string(runtime.rawValue), "level": .string(record.level.rawValue),
                                     "text": .string(record.text), "time": .string(timestamp(record.time))]).jsonText
        case .flowState(let flow, let state, let reason):
            return JSONValue.object(["type": "state", "flowId": .string(flow.rawValue), "state": .string(state.rawValue),
                                     "reason": reason.map { .string($0) } ?? .null]).jsonText
        case .instanceState(let flow, let runtime, let state, let pid, let restarts, let reason):
            return JSONValue.object(["type": "instance", "flowId": .string(flow.rawValue), "runtime": .string(runtime.rawValue),
                                     "state": .string(state.rawValue), "pid": pid.map { .int(Int($0)) } ?? .null,
                                     "restarts": .int(restarts), "reason": reason.map { .string($0) } ?? .null]).jsonText
        case .paused(let flow, let module, let port, let payload):
            let at = module.map { "\(quote($0.rawValue))" } ?? "null"
            let on = port.map { "\(quote($0.rawValue))" } ?? "null"
            return "{\"type\":\"paused\",\"flowId\":\(quote(flow.rawValue)),\"module\":\(at),\"port\":\(on),\"payload\":\(payload ?? "null")}"
        case .stepped(let flow, let result):
            return JSONValue.object(["type": "stepped", "flowId": .string(flow.rawValue), "result": result]).jsonText
        case .resumed(let flow):
            return JSONValue.object(["type": "resumed", "flowId": .string(flow.rawValue)]).jsonText
        case .swapped(let flow, let revision, let changed, let added, let removed, let moved):
            func ids(_ list: [ModuleID]) -> JSONValue { .array(list.map { .string($0.rawValue) }) }
            return JSONValue.object(["type": "swapped", "flowId": .string(flow.rawValue), "revision": revision.map { .int($0) } ?? .null,
                                     "changed": ids(changed), "added": ids(added), "removed": ids(removed), "moved": ids(moved)]).jsonText
        case .dependencies(let progress):
            return json(progress)
        }
    }

    static func json(_ p: EnvironmentProgress) -> String {
        JSONValue.object(["type": "dependencies", "flowId": p.flow.map { .string($0.rawValue) } ?? .null,
                          "envId": .string(p.environment.rawValue), "runtime": .string(p.runtime.rawValue),
                          "phase": .string(p.phase.rawValue), "text": p.text.map { .string($0) } ?? .null,
                          "modules": .array(p.modules.map { .string($0.rawValue) })]).jsonText
    }

    static func quote(_ s: String) -> String { JSONValue.string(s).jsonText }

    /// A joined runner's event, fit to be spliced: an output's or a pause's payload (JSON text
    /// from the runner) stays as it is only when it is exactly one JSON value (a runner may lie,
    /// and a crafted payload such as `1,"type":"x"` would re-shape the notification); anything
    /// else goes as a JSON string of its text, so that the subscriber still sees it. One pass,
    /// no allocation (`JSONScan`); the embedded runner's events are this process's own.
    static func checked(_ event: RunnerEvent) -> RunnerEvent {
        switch event {
        case .output(let flow, let module, let port, let payload) where !JSONScan.isOneValue(payload):
            return .output(flow: flow, module: module, port: port, payload: quote(payload))
        case .paused(let flow, let module, let port, let payload?) where !JSONScan.isOneValue(payload):
            return .paused(flow: flow, module: module, port: port, payload: quote(payload))
        default:
            return event
        }
    }

    static func timestamp(_ date: Date) -> String { date.formatted(.iso8601) }
}
