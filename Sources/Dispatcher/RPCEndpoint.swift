import FlowModel
import Foundation

/// Parses JSON-RPC 2.0 requests (single, batch, notification) and turns
/// method results into responses, as the specification's section 6-7 say:
/// a batch is answered by an array of the responses to its requests that
/// have an `id`, in order; a batch of notifications only, or one
/// notification, gets no answer; an empty batch is one "invalid request".
public struct RPCEndpoint: Sendable {
    let methods: RPCMethods
    /// At most this many requests in one batch.
    public static let maxBatch = 1_000

    public init(methods: RPCMethods) { self.methods = methods }

    /// A parsed request: `id` is nil for a notification.
    struct Request {
        var id: JSONValue?
        var method: String
        var params: JSONValue?
    }

    /// Runs a method the endpoint itself does not know (the WebSocket's `subscribe`); nil: not handled.
    typealias Override = @Sendable (Request) async throws -> JSONValue?

    static func request(_ json: JSONValue) throws -> Request {
        guard case .object(let o) = json else { throw APIError.invalidRequest("expected a JSON object, got \(json.typeName)") }
        guard o["jsonrpc"] == .string("2.0") else { throw APIError.invalidRequest("\"jsonrpc\" must be \"2.0\"") }
        guard case .string(let method)? = o["method"] else { throw APIError.invalidRequest("\"method\" must be a string") }
        switch o["id"] {
        case nil, .null?, .string?, .int?, .double?: break
        case let other?: throw APIError.invalidRequest("\"id\" must be a string, a number or null, got \(other.typeName)")
        }
        if let params = o["params"], params != .null, params.objectValue == nil, params.arrayValue == nil {
            throw APIError.invalidRequest("\"params\" must be an object, got \(params.typeName)")
        }
        return Request(id: o["id"], method: method, params: o["params"])
    }

    /// Handles one HTTP body or WebSocket text message; returns the answer (nil: nothing to answer).
    func handle(_ body: Data, override: Override? = nil) async -> String? {
        let json: JSONValue
        do { json = try JSONValue(parsing: body) } catch {
            return Self.response(id: .null, error: .parse(FlowValidator.describe(error).clipped(300)))
        }
        guard case .array(let items) = json else { return await answer(json, override: override) }
        guard !items.isEmpty else { return Self.response(id: .null, error: .invalidRequest("an empty batch: send at least one request")) }
        guard items.count <= Self.maxBatch else {
            return Self.response(id: .null, error: .invalidRequest("a batch of \(items.count) requests: at most \(Self.maxBatch); split it"))
        }
        var answers: [String] = []
        for item in items {
            if let a = await answer(item, override: override) { answers.append(a) }
        }
        return answers.isEmpty ? nil : "[" + answers.joined(separator: ",") + "]"
    }

    /// Public entry for one HTTP request body.
    public func handle(_ body: Data) async -> String? { await handle(body, override: nil) }

    private func answer(_ json: JSONValue, override: Override?) async -> String? {
        let request: Request
        do { request = try Self.request(json) } catch {
            return Self.response(id: .null, error: Self.apiError(error))
        }
        do {
            let result: JSONValue
            if let override, let r = try await override(request) { result = r } else {
                result = try await methods.call(request.method, params: request.params)
            }
            return request.id.map { Self.response(id: $0, result: result) }
        } catch {
            return request.id.map { Self.response(id: $0, error: Self.apiError(error)) }
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
