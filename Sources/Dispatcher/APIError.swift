import FlowModel
import RunnerProtocol

/// A JSON-RPC error: a code, a one-line message a user can act on, and details in `data`.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    /// `message` may quote what the client sent: its control characters are escaped, so it stays one line.
    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code; self.message = message.escapingControlCharacters; self.data = data
    }

    public var description: String { message }

    public static func parse(_ detail: String) -> APIError { .init(code: -32700, message: "request is not valid JSON: \(detail)") }
    public static func invalidRequest(_ detail: String) -> APIError { .init(code: -32600, message: "invalid JSON-RPC request: \(detail)") }
    public static func methodNotFound(_ name: String, known: [String]) -> APIError {
        .init(code: -32601, message: "no method \"\(name.clipped())\"\(DidYouMean.hint(for: name, among: known))",
              data: .object(["methods": .array(known.map { .string($0) })]))
    }
    public static func invalidParams(_ detail: String) -> APIError { .init(code: -32602, message: "invalid params: \(detail)") }

    public static func validation(_ error: FlowValidationError) -> APIError {
        .init(code: -32602, message: error.oneLine, data: .object([
            "code": .string("invalid-flow"),
            "issues": .array(error.issues.map { .object(["path": .string($0.path), "reason": .string($0.reason)]) }),
        ]))
    }

    /// A runner's refusal (`RunnerReply.failure`), or the dispatcher's own about a flow or module.
    public static func runner(code: ReplyCode, message: String) -> APIError {
        .init(code: -32000, message: message, data: .object(["code": .string(code.rawValue)]))
    }

    /// What a runner would say, said by the dispatcher (it knows the flow is not there).
    public static func runner(_ error: RunnerError) -> APIError { runner(code: error.code, message: error.description) }

    public static func conflict(_ flow: FlowID, expected: Int, actual: Int) -> APIError {
        .init(code: -32001, message: "flow \"\(flow)\" is at revision \(actual), not \(expected): reload it with getFlow and apply your change again",
              data: .object(["code": .string("revision-conflict"), "revision": .int(actual)]))
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["code": .int(code), "message": .string(message)]
        if let data { o["data"] = data }
        return .object(o)
    }
}
