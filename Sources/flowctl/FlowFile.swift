import FlowModel
import Foundation

/// Reads a flow file, validates it, and inlines each module's `file` as `code`
/// (paths relative to the flow file), so the server never reads user paths.
enum FlowFile {
    static func load(_ path: String) throws -> (FlowDocument, JSONValue) {
        let url = URL(fileURLWithPath: path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CLIError("\(path): no such file")
        }
        let flow: FlowDocument
        do { flow = try FlowValidator().validate(data) } catch {
            throw CLIError("\(path): \(error.issues.count == 1 ? error.oneLine : error.description)")
        }
        guard case .object(var root) = try JSONValue(parsing: data), case .array(var modules) = root["modules"] else {
            return (flow, try JSONValue(parsing: data))
        }
        let base = url.deletingLastPathComponent()
        for (i, module) in modules.enumerated() {
            guard case .object(var m) = module, let file = m["file"]?.stringValue else { continue }
            let source = file.hasPrefix("/") ? URL(fileURLWithPath: file) : base.appendingPathComponent(file)
            guard let code = FileManager.default.contents(atPath: source.path) else {
                throw CLIError("\(path): modules[\(i)].file: cannot read \"\(file)\" (looked at \(source.path))")
            }
            m["file"] = nil
            m["code"] = .string(String(decoding: code, as: UTF8.self))
            modules[i] = .object(m)
        }
        root["modules"] = .array(modules)
        return (flow, .object(root))
    }
}
