import FlowModel
import Foundation
import RunnerProtocol
import Testing

/// `DispatcherLinkStateMachine` against every case of the shared vectors
/// (Tests/Fixtures/vectors/link.json), which the browser runner's
/// `link_state_machine.js` passes too. Times are milliseconds from `t0`;
/// `stopRuntimes` and `exit` are the vectors' `stopModules` and `giveUp`.
@Suite struct DispatcherLinkStateMachineVectorTests {
    typealias Machine = DispatcherLinkStateMachine
    static let vectors: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/vectors/link.json").standardized
        return try! JSONValue(parsing: Data(contentsOf: url))
    }()

    let t0 = ContinuousClock.now
    func at(_ step: JSONValue) -> ContinuousClock.Instant { t0 + .milliseconds(step["at"]?.intValue ?? 0) }
    static func milliseconds(_ d: Duration) -> Int { Int(d / .milliseconds(1)) }

    /// The defaults, with the vector's `policy` (in milliseconds) over them.
    static func policy(_ json: JSONValue?) -> Machine.Policy {
        var p = Machine.Policy()
        func ms(_ key: String) -> Duration? { json?[key]?.intValue.map { Duration.milliseconds($0) } }
        if let d = ms("intervalMs") { p.interval = d }
        if let d = ms("holdAfterMs") { p.holdAfter = d }
        if let d = ms("lostAfterMs") { p.lostAfter = d }
        if let d = ms("graceMs") { p.grace = d }
        if let d = ms("initialBackoffMs") { p.initialBackoff = d }
        if let d = ms("maxBackoffMs") { p.maxBackoff = d }
        if let d = ms("welcomeTimeoutMs") { p.welcomeTimeout = d }
        return p
    }

    static func welcome(_ json: JSONValue?) -> RunnerWelcome {
        let drop = (json?["drop"]?.arrayValue ?? []).map { d in
            ModuleLease(flow: FlowID(d["flow"]?.stringValue ?? ""), module: ModuleID(d["module"]?.stringValue ?? ""), gen: d["gen"]?.intValue ?? 0)
        }
        return RunnerWelcome(runner: RunnerID("tab-1"), session: json?["session"]?.intValue ?? 0,
                             heartbeatMs: json?["heartbeatMs"]?.intValue ?? 0, lostAfterMs: json?["lostAfterMs"]?.intValue ?? 0, drop: drop)
    }

    static func refusal(_ json: JSONValue?) -> RunnerRefusal {
        let code = json?["code"]?.stringValue.flatMap { RunnerRefusal.Code(rawValue: $0) }
        #expect(code != nil, "refusal code \(json?["code"] ?? .null)")
        return RunnerRefusal(code: code ?? .badHello, message: json?["message"]?.stringValue ?? "")
    }

    /// An action in the vectors' form.
    static func json(_ action: Machine.Action) -> JSONValue {
        switch action {
        case .connect: ["type": "connect"]
        case .sendHello: ["type": "sendHello"]
        case .sendPing(let n): ["type": "sendPing", "n": .int(n)]
        case .scheduleReconnect(let after): ["type": "scheduleReconnect", "afterMs": .int(milliseconds(after))]
        case .closeConnection(let reason): ["type": "closeConnection", "reason": .string(reason)]
        case .holdModules: ["type": "holdModules"]
        case .releaseModules: ["type": "releaseModules"]
        case .drop(let leases):
            ["type": "drop", "modules": .array(leases.map { lease -> JSONValue in
                ["flow": .string(lease.flow.rawValue), "module": .string(lease.module.rawValue), "gen": .int(lease.gen)]
            })]
        case .stopRuntimes(let reason): ["type": "stopModules", "reason": .string(reason)]
        case .exit(let reason): ["type": "giveUp", "reason": .string(reason)]
        }
    }

    /// The actions as the vectors give them: a reason only where the expected action has one.
    static func comparable(_ actions: [JSONValue], to expected: [JSONValue]) -> [JSONValue] {
        actions.enumerated().map { pair -> JSONValue in
            let (i, action) = pair
            guard i < expected.count, expected[i]["reason"] == nil, var o = action.objectValue else { return action }
            o["reason"] = nil
            return .object(o)
        }
    }

    static func name(_ link: Machine.Link) -> String {
        switch link {
        case .idle: "idle"
        case .connecting: "connecting"
        case .awaitingWelcome: "awaitingWelcome"
        case .connected: "connected"
        case .backingOff: "backingOff"
        case .refused: "refused"
        }
    }

    static func name(_ modules: Machine.Modules) -> String {
        switch modules {
        case .running: "running"
        case .held: "held"
        case .stopped: "stopped"
        }
    }

    func apply(_ step: JSONValue, to m: inout Machine) -> [Machine.Action] {
        switch step["do"]?.stringValue {
        case "start": return m.start()
        case "connected": return m.connected(at: at(step))
        case "welcomed": return m.welcomed(Self.welcome(step["welcome"]), at: at(step))
        case "refused": return m.refused(Self.refusal(step["refusal"]))
        case "heard": return m.heard(at: at(step))
        case "tick": return m.tick(at: at(step))
        case "disconnected": return m.disconnected(at: at(step))
        case "retryTimerFired": return m.retryTimerFired()
        default:
            Issue.record("unknown event \(step["do"] ?? .null)")
            return []
        }
    }

    @Test func theVectorsHaveCases() {
        #expect((Self.vectors["cases"]?.arrayValue?.count ?? 0) >= 10)
    }

    @Test func everyCaseGivesItsActionsAndStates() {
        for vector in Self.vectors["cases"]?.arrayValue ?? [] {
            let caseName = vector["name"]?.stringValue ?? "?"
            var m = Machine(now: t0, policy: Self.policy(vector["policy"]))
            for (i, step) in (vector["steps"]?.arrayValue ?? []).enumerated() {
                let whereabouts = "\(caseName), step \(i) (\(step["do"]?.stringValue ?? "?"))"
                let expected = step["actions"]?.arrayValue ?? []
                let actions = Self.comparable(apply(step, to: &m).map(Self.json), to: expected)
                #expect(JSONValue.array(actions) == JSONValue.array(expected), "\(whereabouts): actions")
                if let link = step["link"]?.stringValue { #expect(Self.name(m.link) == link, "\(whereabouts): link") }
                if let session = step["session"]?.intValue { #expect(m.link == .connected(session: session), "\(whereabouts): session") }
                if let attempt = step["attempt"]?.intValue { #expect(m.link == .backingOff(attempt: attempt), "\(whereabouts): attempt") }
                if let modules = step["modules"]?.stringValue { #expect(Self.name(m.modules) == modules, "\(whereabouts): modules") }
                if let since = step["heldSince"]?.intValue {
                    if case .held(let heldSince) = m.modules {
                        #expect(Self.milliseconds(heldSince - t0) == since, "\(whereabouts): held since")
                    } else {
                        Issue.record("\(whereabouts): modules \(Self.name(m.modules)), not held")
                    }
                }
            }
        }
    }
}
