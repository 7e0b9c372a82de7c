/// One problem in a flow document: where (a JSON path such as
/// `connections[2].to`) and why, in words a user can act on.
public struct ValidationIssue: Hashable, Codable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}

/// Every problem found in a flow document; nothing is deployed when this is thrown.
public struct FlowValidationError: Error, Sendable, CustomStringConvertible {
    public var flowID: String?
    public var issues: [ValidationIssue]
    public init(flowID: String?, issues: [ValidationIssue]) { self.flowID = flowID; self.issues = issues }
    public var description: String {
        let head = "flow \(flowID.map { "\"\($0)\"" } ?? "document") is invalid (\(issues.count) problem\(issues.count == 1 ? "" : "s"))"
        return ([head] + issues.map { "  \($0)" }).joined(separator: "\n")
    }
    /// One line: the first issue and how many more.
    public var oneLine: String {
        guard let first = issues.first else { return "flow is invalid" }
        let more = issues.count > 1 ? " (and \(issues.count - 1) more problem\(issues.count == 2 ? "" : "s"))" : ""
        return "invalid flow \(flowID.map { "\"\($0)\"" } ?? ""): \(first)\(more)".replacingOccurrences(of: "flow : ", with: "flow: ")
    }
}
