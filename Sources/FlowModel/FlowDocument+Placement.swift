/// The part of a flow one runner runs.
extension FlowDocument {
    /// The modules in `placed`, with every connection that leaves one of them
    /// (its target may run elsewhere: `FlowPlan` makes that a remote route).
    /// Connections into `placed` from modules elsewhere are the senders' business.
    public func restricted(to placed: Set<ModuleID>) -> FlowDocument {
        FlowDocument(id: id, description: description, modules: modules.filter { placed.contains($0.id) },
                     connections: connections.filter { placed.contains($0.from.module) })
    }
}
