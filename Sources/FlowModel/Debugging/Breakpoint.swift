/// A breakpoint at a module of a flow: when a message reaches the module (and
/// the condition, if any, holds for its payload), the whole flow pauses
/// before the module processes it.
public struct Breakpoint: Sendable, Equatable, Codable {
    public var module: ModuleID
    public var condition: BreakCondition?

    public init(module: ModuleID, condition: BreakCondition? = nil) {
        self.module = module
        self.condition = condition
    }

    /// Whether a message with this payload (JSON text) stops here. The payload
    /// is decoded only for a conditional breakpoint, and only while debugging.
    public func stops(payload: () -> JSONValue?) -> Bool {
        guard let condition else { return true }
        guard let value = payload() else { return false }
        return condition.matches(value)
    }
}
