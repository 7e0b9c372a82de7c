import FlowModel
import Foundation
import Testing

/// The README's tour, for real: `flowctl serve`, `addOrUpdateFlow`, `inject`,
/// `tail`, `status`, with real Python and Node runtimes.
@Suite(.timeLimit(.minutes(3))) struct TourTests {
    /// Starts `flowctl tail`, waits until it is subscribed, runs `action`, and returns the events it printed.
    func tail(_ server: PolyflowServer, _ arguments: [String], count: Int, during action: () async throws -> Void) async throws -> [JSONValue] {
        let tail = try ChildProcess(Repo.flowctl, ["tail"] + arguments + ["--count", "\(count)"], environment: ["FLOWCTL_SERVER": server.url])
        do {
            try await tail.waitForStderr("tail subscribed") { $0.contains("following") }
            try await action()
            #expect(try await tail.waitForExit() == 0)
        } catch {
            await tail.terminate()
            throw error
        }
        return try tail.stdout.map { try JSONValue(parsing: Data($0.utf8)) }
    }

    @Test func pipelineCrossesPythonAndNode() async throws {
        try await withServer { server in
            let deployed = try await server.flowctl("addOrUpdateFlow", Repo.examples + "/pipeline.json")
            #expect(deployed.status == 0, "\(deployed.stderr)")
            #expect(deployed.stdout == "true")
            let events = try await tail(server, ["pipeline", "--events", "output"], count: 1) {
                let injected = try await server.flowctl("inject", "pipeline/parse", #"{"text": "Named Pipes Between Languages"}"#)
                #expect(injected.stdout == "true")
            }
            let out = try #require(events.first)
            #expect(out["type"] == "output")
            #expect(out["module"] == "enrich")
            #expect(out["payload"]?["words"] == .array(["named", "pipes", "between", "languages"]))
            #expect(out["payload"]?["by"]?.stringValue?.hasPrefix("node v") == true)

            let status = try await server.flowctl("status")
            #expect(status.status == 0)
            let flows = status.json?["runners"]?[0]?["flows"]
            #expect(flows?[0]?["flow"] == "pipeline")
            let got = try await server.flowctl("getFlow", "pipeline")
            #expect(got.json?["status"] == "running")
            #expect(got.json?["revision"] == .int(1))
        }
    }

    @Test func fanOutFanInWithState() async throws {
        try await withServer(flows: [Repo.examples + "/fanout.json"]) { server in
            let events = try await tail(server, ["fanout"], count: 4) {
                for n in ["3", "4"] { _ = try await server.flowctl("inject", "fanout/source", n) }
            }
            let outs = events.filter { $0["type"] == "output" }
            #expect(outs.count == 4)
            let values = Set(outs.compactMap { $0["payload"]?["value"]?.intValue })
            #expect(values == [6, 9, 8, 16], "both fan-out branches, both runtimes")
            let totals = outs.compactMap { $0["payload"]?["total"]?.intValue }
            #expect(totals.last == 39, "collect keeps a running total in its state")
            #expect(outs.compactMap { $0["payload"]?["count"]?.intValue } == [1, 2, 3, 4])
            try await eventually("state visible in getFlow") {
                let modules = try await server.status("fanout")["modules"]
                guard case .array(let list)? = modules else { return false }
                return list.contains { $0["id"] == "collect" && $0["moduleState"]?["total"] == .int(39) }
            }
        }
    }

    @Test func errorsAreReportedAndTheFlowGoesOn() async throws {
        try await withServer(flows: [Repo.examples + "/errors.json"]) { server in
            let events = try await tail(server, ["errors", "--events", "output,error"], count: 3) {
                for p in [#"{"divisor": 0}"#, #"{"divisor": 0.5}"#, #"{"divisor": 4}"#] {
                    _ = try await server.flowctl("inject", "errors/divide", p)
                }
            }
            #expect(events.map { $0["type"]?.stringValue ?? "" } == ["error", "error", "output"])
            #expect(events[0]["module"] == "divide")
            #expect(events[0]["payload"] == .object(["divisor": .int(0)]))
            #expect(events[0]["message"]?.stringValue?.contains("ZeroDivisionError") == true)
            #expect(events[0]["stack"]?.stringValue?.contains("line 7") == true)
            #expect(events[1]["module"] == "report")
            #expect(events[2]["payload"]?["result"] == .int(25))
            try await eventually("errors counted in getFlow") {
                guard case .array(let list)? = try await server.status("errors")["modules"] else { return false }
                return list.contains { $0["id"] == "divide" && $0["errors"] == .int(1) && $0["lastError"]?["payload"] != nil }
            }
        }
    }

    @Test func listRuntimesAndFlowsForRuntime() async throws {
        try await withServer(flows: [Repo.examples + "/pipeline.json", Repo.examples + "/errors.json"]) { server in
            let runtimes = try await server.flowctl("listRuntimes")
            guard case .array(let list)? = runtimes.json else { Issue.record("not an array: \(runtimes.stdout)"); return }
            #expect(Set(list.compactMap { $0["id"]?.stringValue }) == ["python3", "node"])
            #expect(list.contains { $0["id"] == "python3" && $0["name"] == "CPython" && $0["version"] != nil })
            let forNode = try await server.flowctl("listFlowsForRuntime", "node")
            #expect(forNode.status == 0)
            #expect(forNode.stdout.contains("pipeline") && forNode.stdout.contains("errors"))
            let listed = try await server.flowctl("listFlows")
            guard case .array(let flows)? = listed.json else { Issue.record("not an array: \(listed.stdout)"); return }
            #expect(flows.count == 2)
        }
    }
}
