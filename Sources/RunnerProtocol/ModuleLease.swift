import FlowModel

/// One module of one flow at one placement generation: what a runner holds
/// (`hello.modules`) or must let go of (`welcome.drop`, the `fence` command).
/// The generation goes up each time the dispatcher places the module
/// somewhere new, so an older one names a placement that no longer holds.
public struct ModuleLease: Hashable, Sendable, Codable, CustomStringConvertible {
    public var flow: FlowID
    public var module: ModuleID
    public var gen: Int

    public init(flow: FlowID, module: ModuleID, gen: Int) {
        self.flow = flow; self.module = module; self.gen = gen
    }

    public var description: String { "\(flow)/\(module)@\(gen)" }
}
