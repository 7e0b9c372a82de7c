/// A joined runner's state as `listRunners` shows it (see `HeartbeatStateMachine`).
///
/// - `joining`: connected, not welcomed yet; takes no modules.
/// - `live`: heard from within the suspect time; takes new modules.
/// - `suspect`: silent for a while; keeps its modules, takes no new ones.
/// - `lost`: silent past the lost time, or disconnected; its modules are placed elsewhere.
public enum RunnerState: String, Sendable, Codable, CaseIterable {
    case joining, live, suspect, lost

    /// Whether modules already there may stay.
    var keepsModules: Bool { self == .live || self == .suspect }
    /// Whether new modules may go there.
    var takesModules: Bool { self == .live }
}
