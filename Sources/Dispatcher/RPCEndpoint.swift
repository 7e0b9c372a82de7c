import FlowModel
import Foundation

/// Parses JSON-RPC 2.0 requests and turns method results into responses.
public struct RPCEndpoint: Sendable {
    let methods: RPCMethods

    public init(methods: RPCMethods) { self.methods = methods }

    /// A parsed request: `id` is nil for a notification.
    struct Request {
        var id: JSONValue?
        var method: String
        var params: JSONValue?
    }

    static func parse(_ data: Data) throws -> Request {
        let json: JSONValue
        do { json = try JSONValue(parsing: data) } catch { throw APIError.parse(FlowValidator.describe(error)) }
        guard case .object(let o) = json else { throw APIError.invalidRequest("expected a JSON object") }
        guard o["jsonrpc"] == .string("2.0") else { throw APIError.invalidRequest("\"jsonrpc\" must be \"2.0\"") }
        guard case .string(let method)? = o["method"] else { throw APIError.invalidRequest("\"method\" must be a string") }
        return Request(id: o["id"], method: method, params: o["params"])
    }

    /// Handles one HTTP request body; returns the response body (nil for a notification).
    public func handle(_ body: Data) async -> String? {
        let request: Request
        do { request = try Self.parse(body) } catch {
            return Self.response(id: .null, error: error as? APIError ?? .invalidRequest("\(error)"))
        }
        do {
            let result = try await methods.call(request.method, params: request.params)
            return request.id == nil ? nil : Self.response(id: request.id!, result: result)
        } catch {
            return request.id == nil ? nil : Self.response(id: request.id!, error: Self.apiError(error))
        }
    }

    static func apiError(_ error: any Error) -> APIError {
        error as? APIError ?? APIError(code: -32603, message: "internal error: \(error)")
    }

    static func response(id: JSONValue, result: JSONValue) -> String {
        JSONValue.object(["jsonrpc": "2.0", "id": id, "result": result]).jsonText
    }

    static func response(id: JSONValue, error: APIError) -> String {
        JSONValue.object(["jsonrpc": "2.0", "id": id, "error": error.json]).jsonText
    }
}
