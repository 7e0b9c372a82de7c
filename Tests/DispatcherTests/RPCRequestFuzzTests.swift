import FlowModel
import Foundation
import FuzzSupport
import Logging
import NIOPosix
import RunnerHost
import RunnerProtocol
import Testing
@testable import Dispatcher

/// Bounded fuzzing of the JSON-RPC endpoint, which reads whatever a client
/// posts: requests of every shape for every method, random JSON, and mutated
/// JSON text, answered by a real registry over a runner that has no runtimes
/// (so no process is ever started). Nothing may crash; every answer is a
/// JSON-RPC 2.0 response with the request's id and either a result or an
/// error with a code and a one-line message; only notifications go
/// unanswered.
@Suite(.timeLimit(.minutes(2))) struct RPCRequestFuzzTests {
    static let methods = ["listRuntimes", "listFlowsForRuntime", "addOrUpdateFlow", "removeFlow", "startFlow", "stopFlow",
                          "setBreakPointAtModule", "removeBreakPointAtModule", "singleStepFlow", "resumeFlow", "inject",
                          "getFlow", "listFlows", "status", "subscribe"]
    // No time bound per request: in the full suite, awaits here wait behind
    // whatever holds the cooperative pool (RuntimeLocator's blocking probes in
    // the runner tests held it 40 s once), so wall time says nothing about the
    // endpoint. The suite's time limit catches a hang; the validation behind
    // addOrUpdateFlow has its CPU-time bound in FlowValidationFuzzTests.

    @Test func randomRequestsGetWellFormedAnswers() async throws {
        let directory = NSTemporaryDirectory() + "polyflow-rpc-fuzz-\(UUID().uuidString.prefix(8))"
        let emptyPath = directory + "/empty-path"
        try FileManager.default.createDirectory(atPath: emptyPath, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "rpc-fuzz")
        logger.logLevel = .critical
        // No python3 or node on its PATH: a deploy with modules is refused before any spawn.
        let host = RunnerHost(configuration: RunnerConfiguration(fifoDirectory: directory + "/fifos", runtimesDirectory: directory + "/none",
                                                                 searchPath: emptyPath, environmentsDirectory: directory + "/environments"),
                              eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger, events: { _ in })
        let store = StateStore(directory: directory + "/state")
        try store.prepare()
        let runners = RunnerDirectory()
        await runners.addLocal(LocalRunnerLink(host: host, notices: LocalRunnerLink.makeNotices()))
        let endpoint = RPCEndpoint(methods: RPCMethods(registry: FlowRegistry(store: store, directory: runners, logger: logger)))

        let run = FuzzRun(name: "rpc-request", cases: 300)
        // The endpoint is async: the cases run here, kept seeds first.
        var failures: [String] = []
        var answered = 0
        for seed in run.seeds {
            var g = SeededGenerator(seed: seed)
            let body = Self.body(using: &g)
            let answer = await endpoint.handle(body)
            answered += 1
            if let problem = Self.problem(request: body, answer: answer) {
                failures.append("seed \(seed): \(problem); request \(String(decoding: body.prefix(300), as: UTF8.self).debugDescription)")
            }
            if failures.count >= 5 { break }
        }
        await host.shutdown()
        #expect(failures.isEmpty, "\(failures)")
        #expect(answered == run.seeds.count || failures.count >= 5)
    }

    /// A well-formed call (JSON-RPC 2.0, section 4): an object with `"jsonrpc": "2.0"`,
    /// a string `method`, an `id` that is absent, null, a string or a number, and
    /// `params` absent or structured.
    static func isValidCall(_ r: JSONValue) -> Bool {
        guard case .object(let o) = r, o["jsonrpc"] == "2.0", o["method"]?.stringValue != nil else { return false }
        switch o["id"] { case nil, .null?, .string?, .int?, .double?: break; default: return false }
        switch o["params"] { case nil, .null?, .object?, .array?: return true; default: return false }
    }

    /// Whether a request gets an answer: everything but a well-formed notification (no `id`).
    static func expectsAnswer(_ r: JSONValue) -> Bool { !isValidCall(r) || r.objectValue?["id"] != nil }

    /// What is wrong with `answer` to `request`, if anything.
    static func problem(request: Data, answer: String?) -> String? {
        let parsed = try? JSONValue(parsing: request)
        // What should come back: one answer per request that expects one (a batch: an array of them, in order).
        let expected: [JSONValue?]  // the request each answer is for (nil: the body as a whole)
        var batch = false
        switch parsed {
        case .array(let items)? where !items.isEmpty && items.count <= RPCEndpoint.maxBatch:
            expected = items.filter(expectsAnswer).map { $0 }
            batch = true
        case let single? where !(single.arrayValue?.isEmpty == false):
            expected = single.arrayValue != nil || expectsAnswer(single) ? [single] : []
        default:
            expected = [nil]
        }
        guard let answer else { return expected.isEmpty ? nil : "no answer" }
        if expected.isEmpty { return "an answer to notifications only: \(answer.prefix(200))" }
        guard let response = try? JSONValue(parsing: Data(answer.utf8)) else { return "the answer is not JSON: \(answer.prefix(200))" }
        let items: [JSONValue]
        if batch {
            guard let array = response.arrayValue else { return "a batch answered by \(response.typeName)" }
            if array.count != expected.count { return "\(array.count) answers to \(expected.count) requests that expect one" }
            items = array
        } else {
            items = [response]
        }
        for (item, request) in zip(items, batch ? expected : [parsed]) {
            guard case .object(let o) = item else { return "an answer that is not an object" }
            if o["jsonrpc"] != "2.0" { return "no \"jsonrpc\": \"2.0\"" }
            guard let id = o["id"] else { return "no id" }
            if let request, isValidCall(request), let sent = request["id"], sent.stringValue != nil || sent.intValue != nil, id != sent {
                return "id \(id.jsonText) for a request with id \(sent.jsonText)"
            }
            switch (o["result"], o["error"]) {
            case (_?, nil): break
            case (nil, let error?):
                guard let code = error["code"]?.intValue else { return "an error without an integer code" }
                if !([-32700, -32600, -32601, -32602, -32603].contains(code) || (-32099 ... -32000).contains(code)) {
                    return "error code \(code) outside JSON-RPC's ranges"
                }
                guard let message = error["message"]?.stringValue, !message.isEmpty else { return "an error without a message" }
                if message.contains(where: \.isNewline) { return "error message spans lines: \(message.prefix(200).debugDescription)" }
            default:
                return "not exactly one of result and error"
            }
        }
        return nil
    }

    // MARK: generator

    static func body(using g: inout SeededGenerator) -> Data {
        let request: JSONValue = g.chance(0.9) ? call(using: &g) : JSONFuzz.value(using: &g)
        var text = Array(request.jsonText.utf8)
        if g.chance(0.08) {
            let more = (0..<Int.random(in: 0...3, using: &g)).map { _ in call(using: &g).jsonText }
            text = Array("[\(([request.jsonText] + more).joined(separator: ","))]".utf8)
        }
        if g.chance(0.2) { text = JSONFuzz.mutate(text, using: &g) }
        return Data(text)
    }

    /// A JSON-RPC call, mostly well-formed, with plausible and implausible params.
    static func call(using g: inout SeededGenerator) -> JSONValue {
        var o: [String: JSONValue] = [:]
        if !g.chance(0.05) { o["jsonrpc"] = g.chance(0.95) ? "2.0" : JSONFuzz.value(using: &g, depth: 0) }
        let method = g.chance(0.85) ? g.pick(methods) : g.chance(0.5) ? JSONFuzz.string(using: &g) : g.pick(methods) + "x"
        if !g.chance(0.03) { o["method"] = g.chance(0.97) ? .string(method) : JSONFuzz.value(using: &g, depth: 1) }
        if !g.chance(0.1) { o["id"] = g.pick([.int(Int.random(in: 0...100, using: &g)), .string(JSONFuzz.string(using: &g, maxLength: 10)), .null, JSONFuzz.value(using: &g, depth: 1)]) }
        if !g.chance(0.1) { o["params"] = g.chance(0.85) ? params(for: method, using: &g) : JSONFuzz.value(using: &g, depth: 2) }
        if g.chance(0.03) { o["extra"] = JSONFuzz.value(using: &g, depth: 1) }
        return .object(o)
    }

    static func params(for method: String, using g: inout SeededGenerator) -> JSONValue {
        func flowID(_ g: inout SeededGenerator) -> JSONValue {
            g.chance(0.8) ? .string(g.pick(["f", "g", "empty", JSONFuzz.identifier(using: &g, length: 3)])) : JSONFuzz.value(using: &g, depth: 1)
        }
        func flowModuleID(_ g: inout SeededGenerator) -> JSONValue {
            g.chance(0.8) ? .string(g.pick(["empty/m", "f/m", "f/", "/m", "f/m/x", "f", JSONFuzz.string(using: &g, maxLength: 12)])) : JSONFuzz.value(using: &g, depth: 1)
        }
        var p: [String: JSONValue] = [:]
        switch method {
        case "listFlowsForRuntime": p["runtimeId"] = g.chance(0.7) ? .string(g.pick(["python3", "node", "browser", "pyton3"])) : JSONFuzz.value(using: &g, depth: 1)
        case "addOrUpdateFlow":
            // An empty flow deploys (it starts no process); modules need runtimes this runner lacks.
            let modules: JSONValue = g.chance(0.5) ? [] : [["id": "m", "runtime": .string(g.pick(["python3", "node", "x"])), "code": "x"]]
            p["flow"] = g.chance(0.7) ? ["id": flowID(&g), "modules": modules] : JSONFuzz.value(using: &g, depth: 3)
            if g.chance(0.3) { p["expectedRevision"] = g.chance(0.7) ? .int(Int.random(in: -1...3, using: &g)) : JSONFuzz.value(using: &g, depth: 0) }
            if g.chance(0.2) { p["start"] = JSONFuzz.value(using: &g, depth: 0) }
        case "removeFlow", "startFlow", "stopFlow", "resumeFlow", "getFlow": p["flowId"] = flowID(&g)
        case "singleStepFlow": if g.chance(0.5) { p["flowId"] = flowID(&g) }
        case "setBreakPointAtModule", "removeBreakPointAtModule":
            p["flowModuleId"] = flowModuleID(&g)
            if g.chance(0.5) {
                p["condition"] = g.chance(0.6)
                    ? ["pointer": .string(g.pick(["", "/a", "a", "/a~2", "/~0~1", JSONFuzz.string(using: &g, maxLength: 10)])),
                       g.pick(["equals", "exists", "both"]): JSONFuzz.value(using: &g, depth: 1)]
                    : JSONFuzz.value(using: &g, depth: 2)
            }
        case "inject":
            p["flowModuleId"] = flowModuleID(&g)
            if g.chance(0.3) { p["port"] = JSONFuzz.value(using: &g, depth: 0) }
            if g.chance(0.9) { p["payload"] = JSONFuzz.value(using: &g) }
        case "subscribe":
            if g.chance(0.5) { p["flowId"] = flowID(&g) }
            if g.chance(0.5) { p["events"] = g.chance(0.5) ? ["output", .string(JSONFuzz.string(using: &g, maxLength: 8))] : JSONFuzz.value(using: &g, depth: 1) }
        default: break
        }
        if g.chance(0.05) { p[JSONFuzz.string(using: &g, maxLength: 10)] = JSONFuzz.value(using: &g, depth: 1) }
        return .object(p)
    }
}
