import FlowModel
import Foundation

/// JSON coding shared by both directions of the runner protocol: compact,
/// sorted keys, times as milliseconds since 1970 (what JavaScript's
/// `Date.now()` gives), and decoding errors turned into `RunnerProtocolError`.
enum RunnerProtocolJSON {
    static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Whole milliseconds, written as an integer (never 1764163200122.9998).
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(Int64((date.timeIntervalSince1970 * 1000).rounded()))
        }
        do { return try encoder.encode(value) } catch {
            // Every message type encodes plain values; a failure here is a bug.
            preconditionFailure("runner protocol message did not encode: \(error)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, maxBytes: Int) throws(RunnerProtocolError) -> T {
        guard data.count <= maxBytes else {
            throw RunnerProtocolError(.messageTooLarge, "message of \(data.count) bytes is over the limit of \(maxBytes)")
        }
        // One pass, with the nesting bound (docs/security.md, "Deep JSON").
        let tree: JSONValue
        do { tree = try JSONValue(parsing: data) } catch {
            throw RunnerProtocolError(.badJSON, error.kind == .tooDeep ? "\(error)" : "not valid JSON: \(error)")
        }
        guard case .object = tree else { throw RunnerProtocolError(.badJSON, "a message must be a JSON object") }
        do {
            return try JSONValueDecoder().decode(T.self, from: tree)
        } catch let error as RunnerProtocolError {
            throw error
        } catch let error as DecodingError {
            throw map(error)
        } catch {
            throw RunnerProtocolError(.badField, "\(error)")
        }
    }


    static func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
        var text = ""
        for key in codingPath + (last.map { [$0] } ?? []) {
            if let i = key.intValue { text += "[\(i)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
        return text.isEmpty ? "(message)" : text
    }

    static func map(_ error: DecodingError) -> RunnerProtocolError {
        switch error {
        case .keyNotFound(let key, let context):
            return RunnerProtocolError(.missingField, "\(path(context.codingPath, key)): missing")
        case .typeMismatch(let type, let context):
            return RunnerProtocolError(.badField, "\(path(context.codingPath)): expected \(readable(type))")
        case .valueNotFound(let type, let context):
            return RunnerProtocolError(.badField, "\(path(context.codingPath)): expected \(readable(type)), got null")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return RunnerProtocolError(.badJSON, "not valid JSON") }
            return RunnerProtocolError(.badField, "\(path(context.codingPath)): \(context.debugDescription)")
        @unknown default:
            return RunnerProtocolError(.badField, "\(error)")
        }
    }

    static func readable(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int32.Type, is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        default: "\(type)"
        }
    }
}
