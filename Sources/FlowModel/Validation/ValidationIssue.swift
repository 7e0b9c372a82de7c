/// One problem in a flow document: where (a JSON path such as
/// `connections[2].to`) and why, in words a user can act on.
public struct ValidationIssue: Hashable, Codable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    /// Both may quote what the user wrote: control characters in it are
    /// escaped, so that an issue is always one line.
    public init(path: String, reason: String) {
        self.path = path.escapingControlCharacters
        self.reason = reason.escapingControlCharacters
    }
    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}

/// Every problem found in a flow document; nothing is deployed when this is thrown.
public struct FlowValidationError: Error, Sendable, CustomStringConvertible {
    public var flowID: String?
    public var issues: [ValidationIssue]
    public init(flowID: String?, issues: [ValidationIssue]) { self.flowID = flowID; self.issues = issues }
    public var description: String {
        let head = "flow \(flowID.map { "\"\($0.escapingControlCharacters)\"" } ?? "document") is invalid (\(issues.count) problem\(issues.count == 1 ? "" : "s"))"
        return ([head] + issues.map { "  \($0)" }).joined(separator: "\n")
    }
    /// One line: the first issue and how many more.
    public var oneLine: String {
        guard let first = issues.first else { return "flow is invalid" }
        let more = issues.count > 1 ? " (and \(issues.count - 1) more problem\(issues.count == 2 ? "" : "s"))" : ""
        return "invalid flow \(flowID.map { "\"\($0.escapingControlCharacters)\"" } ?? ""): \(first)\(more)".replacingOccurrences(of: "flow : ", with: "flow: ")
    }
}

extension String {
    /// The text with its control characters and line separators escaped
    /// (`\n`, `\r`, `\t`, `\u{7}`, `\u{2028}`): what error messages use to
    /// quote user input on one line.
    public var escapingControlCharacters: String {
        let breaks: Set<Unicode.GeneralCategory> = [.control, .lineSeparator, .paragraphSeparator]
        guard unicodeScalars.contains(where: { breaks.contains($0.properties.generalCategory) }) else { return self }
        var out = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where breaks.contains(scalar.properties.generalCategory):
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
