/// On the server, module code must be inline: the server never reads user paths.
struct InlineCodeRule: FlowRule {
    func check(_ flow: FlowDocument, requireInlineCode: Bool) -> [ValidationIssue] {
        guard requireInlineCode else { return [] }
        return flow.modules.enumerated().compactMap { i, m in
            guard m.code == nil, let file = m.file else { return nil }
            return ValidationIssue(path: "modules[\(i)].file", reason: "the server does not read files (\"\(file)\"): deploy with `flowctl addOrUpdateFlow`, which inlines it as \"code\"")
        }
    }
}
