import FlowModel
import RunnerProtocol

/// Whether a runner's `hello` is welcomed, as a pure function, and what the
/// welcome tells it to drop (docs/runner-protocol.md, "Joining").
///
/// Checked in this order: the token (nothing else is told to a runner
/// without it), the protocol version, the hello's form, the name.
///
/// Two runners of one name: names are how users and tags address runners,
/// so only one connection holds a name at a time. A `hello` with the name of
/// a runner that is not lost is refused (`duplicate-name`), unless it carries
/// the same `instance` (the same runner process reconnecting before the old
/// connection was found lost): then the new connection replaces the old one
/// and keeps its modules. Once the holder is lost, any runner may take the
/// name (a restarted runner comes back under its name); the modules it
/// reports that were placed elsewhere meanwhile are in `drop`. A holder
/// whose connection ended (it has `RunnerSession.reconnectGrace` to come
/// back) gives the name up at once to another instance (`takeOver`): a
/// closed browser tab's successor, a runner restarted fast, is not made to
/// wait for the grace, and the old holder's modules are placed again.
public enum RunnerAdmission {
    /// The runner already known under the hello's name.
    public struct Holder: Sendable, Equatable {
        public var instance: String
        public var state: RunnerState
        /// Its connection.
        public var session: Int
        /// Its connection ended and it may still reconnect (within the grace).
        public var connectionEnded: Bool
        public init(instance: String, state: RunnerState, session: Int = 0, connectionEnded: Bool = false) {
            self.instance = instance; self.state = state; self.session = session; self.connectionEnded = connectionEnded
        }
    }

    public enum Decision: Sendable, Equatable {
        /// Send `welcome` with `drop`; with `replacing`, first end the old connection of this name
        /// (`HeartbeatStateMachine.superseded`), whose placements carry over.
        case welcome(drop: [ModuleLease], replacing: Bool)
        /// Another instance takes the name of a runner whose connection ended: first mark that
        /// connection (`endedSession`) lost (its modules are placed again), then send `welcome` with `drop`.
        case takeOver(drop: [ModuleLease], endedSession: Int)
        /// Send `refused` and close.
        case refuse(RunnerRefusal)
    }

    /// - Parameters:
    ///   - token: the token the dispatcher requires, if any.
    ///   - authenticatedAtUpgrade: the WebSocket upgrade carried the right token already.
    ///   - holder: the runner currently known under `hello.name`, if any.
    ///   - placement: the current placement of every module.
    public static func decide(_ hello: RunnerHello, token: String?, authenticatedAtUpgrade: Bool,
                              holder: Holder?, placement: [FlowModuleID: ModulePlacement]) -> Decision {
        if let token, !authenticatedAtUpgrade, !constantTimeEqual(hello.token ?? "", token) {
            return .refuse(RunnerRefusal(code: .badToken, message: hello.token == nil
                ? "this dispatcher needs a token: pass --token (or FLOWCTL_TOKEN)"
                : "wrong token: check --token (or FLOWCTL_TOKEN)"))
        }
        guard hello.protocol == RunnerProtocol.version else {
            return .refuse(RunnerRefusal(code: .protocolVersion,
                message: "this dispatcher speaks runner protocol \(RunnerProtocol.version), the runner \(hello.protocol): run the same Polyflow version on both sides"))
        }
        if let problem = formProblem(hello) {
            return .refuse(RunnerRefusal(code: .badHello, message: problem))
        }
        // Reserved: the inject stream's sender and the embedded runner. A joined runner never
        // takes the embedded runner's place (its deploys, code included, and injected messages).
        if hello.name == .dispatcher || hello.name == .local {
            let whose = hello.name == .local ? "the embedded runner's" : "the dispatcher's own"
            return .refuse(RunnerRefusal(code: .badHello, message: "the name \"\(hello.name)\" is \(whose): give this runner another --name"))
        }
        var replacing = false
        if let holder, holder.state != .lost {
            guard holder.instance == hello.instance else {
                if holder.connectionEnded {
                    return .takeOver(drop: drop(hello, placement), endedSession: holder.session)
                }
                return .refuse(RunnerRefusal(code: .duplicateName,
                    message: "a runner named \"\(hello.name)\" is already connected (\(holder.state.rawValue)); give this one another --name, or stop the other"))
            }
            replacing = true
        }
        return .welcome(drop: drop(hello, placement), replacing: replacing)
    }

    /// The modules the runner reports that are not placed on it at that generation.
    static func drop(_ hello: RunnerHello, _ placement: [FlowModuleID: ModulePlacement]) -> [ModuleLease] {
        hello.modules.filter { lease in
            placement[FlowModuleID(flow: lease.flow, module: lease.module)] != .placed(hello.name, gen: lease.gen)
        }
    }

    static func formProblem(_ hello: RunnerHello) -> String? {
        if !Identifier.isValid(hello.name.rawValue) {
            return "runner name \"\(hello.name)\" may use only letters, digits, \"_\" and \"-\", 1 to 64 of them"
        }
        if hello.instance.isEmpty || hello.instance.utf8.count > 128 { return "instance must be 1 to 128 characters" }
        if hello.runtimes.isEmpty { return "the runner has no runtime (install python3 or node, or use a browser runner)" }
        if Set(hello.runtimes.map(\.id)).count != hello.runtimes.count { return "a runtime is listed twice" }
        if let bad = hello.tags.first(where: { !Tag.isValid($0) }) {
            return "tag \"\(bad)\" may use only letters, digits, \"_\", \"-\", \".\" and \":\", 1 to 64 of them"
        }
        return nil
    }

    /// Compares without stopping at the first difference.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }
}
