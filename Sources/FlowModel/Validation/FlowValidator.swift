import Foundation

/// Validates a flow document and reports every problem, each with its JSON path.
///
///     let flow = try FlowValidator().validate(jsonData)
public struct FlowValidator: Sendable {
    /// When true (the server side), modules must carry inline `code`; `file`
    /// is only for flow files on disk, which `flowctl` inlines before sending.
    public var requireInlineCode: Bool

    public init(requireInlineCode: Bool = false) { self.requireInlineCode = requireInlineCode }

    public func validate(_ data: Data) throws(FlowValidationError) -> FlowDocument {
        let json: JSONValue
        do { json = try JSONValue(parsing: data) } catch {
            throw FlowValidationError(flowID: nil, issues: [ValidationIssue(path: "", reason: "not valid JSON: \(Self.describe(error))")])
        }
        return try validate(json)
    }

    public func validate(_ json: JSONValue) throws(FlowValidationError) -> FlowDocument {
        var parser = FlowParser()
        let parsed = parser.parseFlow(json)
        var issues = parser.issues
        if let flow = parsed {
            for rule in Self.rules { issues += rule.check(flow, requireInlineCode: requireInlineCode) }
        }
        let flowID = json["id"]?.stringValue
        guard issues.isEmpty, let flow = parsed else {
            throw FlowValidationError(flowID: flowID, issues: issues)
        }
        return flow
    }

    static let rules: [any FlowRule] = [UniqueModuleIDsRule(), InlineCodeRule(), ConnectionEndpointsRule()]

    public static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let ctx) = error {
            let underlying = (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? ctx.debugDescription
        }
        return "\(error)"
    }
}

/// One cross-reference rule over a parsed flow; all rules run, all problems are reported.
protocol FlowRule: Sendable {
    func check(_ flow: FlowDocument, requireInlineCode: Bool) -> [ValidationIssue]
}
