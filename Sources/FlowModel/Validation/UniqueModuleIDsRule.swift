/// Module ids are unique within a flow.
struct UniqueModuleIDsRule: FlowRule {
    func check(_ flow: FlowDocument, requireInlineCode: Bool) -> [ValidationIssue] {
        var seen: [ModuleID: Int] = [:]
        var issues: [ValidationIssue] = []
        for (i, m) in flow.modules.enumerated() {
            if let first = seen[m.id] {
                issues.append(ValidationIssue(path: "modules[\(i)].id", reason: "duplicate module id \"\(m.id)\" (first used by modules[\(first)]): module ids must be unique in a flow"))
            } else {
                seen[m.id] = i
            }
        }
        return issues
    }
}
