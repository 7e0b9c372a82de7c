/// Every connection joins an existing module's output port to an existing module's input port.
///
/// Linear in the document: a "did you mean" is looked for only for the
/// first `maxHints` unknown names (each costs up to `DidYouMean`'s bound).
struct ConnectionEndpointsRule: FlowRule {
    static let maxHints = 20

    func check(_ flow: FlowDocument, requireInlineCode: Bool) -> [ValidationIssue] {
        var byID: [ModuleID: ModuleSpec] = [:]
        for m in flow.modules where byID[m.id] == nil { byID[m.id] = m }
        let moduleNames = flow.modules.map(\.id.rawValue)
        var issues: [ValidationIssue] = []
        var seen = Set<Connection>()
        var hints = 0
        func hint(_ word: String, _ among: [String]) -> String {
            hints += 1
            return hints <= Self.maxHints ? DidYouMean.hint(for: word, among: among) : ""
        }
        for (i, c) in flow.connections.enumerated() {
            for (side, endpoint, isOutput) in [("from", c.from, true), ("to", c.to, false)] {
                let path = "connections[\(i)].\(side)"
                guard let m = byID[endpoint.module] else {
                    issues.append(ValidationIssue(path: path, reason: "no module \"\(endpoint.module)\"\(hint(endpoint.module.rawValue, moduleNames))"))
                    continue
                }
                let ports = isOutput ? m.outputs : m.inputs
                let kind = isOutput ? "output" : "input"
                if !ports.contains(endpoint.port) {
                    let names = ports.map(\.rawValue)
                    let listed = names.isEmpty ? "it has none" : "it has \(names.map { "\"\($0)\"" }.joined(separator: ", "))"
                    issues.append(ValidationIssue(path: path, reason: "module \"\(m.id)\" has no \(kind) port \"\(endpoint.port)\"\(hint(endpoint.port.rawValue, names)); \(listed)"))
                }
            }
            if !seen.insert(c).inserted {
                issues.append(ValidationIssue(path: "connections[\(i)]", reason: "duplicate connection \(c.from) → \(c.to): remove one (each would deliver its own copy)"))
            }
        }
        return issues
    }
}
