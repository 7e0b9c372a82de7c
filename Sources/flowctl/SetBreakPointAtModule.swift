import ArgumentParser
import FlowModel
import Foundation

struct SetBreakPointAtModule: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setBreakPointAtModule", abstract: "Pause a flow when a message reaches a module.",
        discussion: """
        With a condition, only when the message's payload matches:
          flowctl setBreakPointAtModule orders/enrich --pointer /total --equals 0
          flowctl setBreakPointAtModule orders/enrich --pointer /error --exists
          flowctl setBreakPointAtModule orders/enrich --condition '{"pointer": "/user/id", "equals": 42}'
        """,
        aliases: ["set-break-point-at-module", "break"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "FLOW/MODULE.") var flowModuleId: String
    @Option(help: "A JSON Pointer into the payload (\"\" for the whole payload).") var pointer: String?
    @Option(help: "Pause only when the value at --pointer equals this JSON value.") var equals: String?
    @Flag(help: "Pause only when --pointer resolves.") var exists = false
    @Flag(help: "Pause only when --pointer does not resolve.") var missing = false
    @Option(help: "The whole condition as JSON: {\"pointer\": …, \"equals\": …} or {\"pointer\": …, \"exists\": true}.") var condition: String?

    func run() async throws {
        try await reportingErrors {
            var params: [String: JSONValue] = ["flowModuleId": .string(flowModuleId)]
            if let condition {
                guard pointer == nil, equals == nil, !exists, !missing else {
                    throw CLIError("setBreakPointAtModule: give --condition or --pointer with --equals/--exists/--missing, not both")
                }
                do { params["condition"] = try JSONValue(parsing: Data(condition.utf8)) } catch {
                    throw CLIError("setBreakPointAtModule: --condition is not valid JSON (\(FlowValidator.describe(error)))")
                }
            } else if let pointer {
                var c: [String: JSONValue] = ["pointer": .string(pointer)]
                switch (equals, exists, missing) {
                case (let value?, false, false):
                    do { c["equals"] = try JSONValue(parsing: Data(value.utf8)) } catch {
                        throw CLIError("setBreakPointAtModule: --equals is not valid JSON (\(FlowValidator.describe(error))); quote text as '\"text\"'")
                    }
                case (nil, true, false): c["exists"] = true
                case (nil, false, true): c["exists"] = false
                default: throw CLIError("setBreakPointAtModule: --pointer needs exactly one of --equals VALUE, --exists or --missing")
                }
                params["condition"] = .object(c)
            } else if equals != nil || exists || missing {
                throw CLIError("setBreakPointAtModule: --equals, --exists and --missing need --pointer (e.g. --pointer /total)")
            }
            printJSON(try await options.client.call("setBreakPointAtModule", params).prettyText)
        }
    }
}

struct RemoveBreakPointAtModule: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "removeBreakPointAtModule", abstract: "Remove a module's breakpoint (false when it had none).",
        aliases: ["remove-break-point-at-module"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "FLOW/MODULE.") var flowModuleId: String

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("removeBreakPointAtModule", ["flowModuleId": .string(flowModuleId)]).prettyText)
        }
    }
}

struct SingleStepFlow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "singleStepFlow",
        abstract: "One step: each module of the paused flow with a queued message processes its oldest one.",
        discussion: "Prints {\"flow/module\": {inputStates, outputStates, errors, state}} for each module that ran. Without FLOW_ID, steps every paused flow; a running flow is paused first.",
        aliases: ["single-step-flow", "step"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "The flow id (default: every paused flow).") var flowId: String?

    func run() async throws {
        try await reportingErrors {
            var params: [String: JSONValue] = [:]
            if let flowId { params["flowId"] = .string(flowId) }
            printJSON(try await options.client.call("singleStepFlow", params).prettyText)
        }
    }
}

struct ResumeFlow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resumeFlow", abstract: "Run a paused flow on until the next breakpoint (false when it was not paused).",
        aliases: ["resume-flow", "resume"])

    @OptionGroup var options: ClientOptions
    @Argument(help: "The flow id.") var flowId: String

    func run() async throws {
        try await reportingErrors {
            printJSON(try await options.client.call("resumeFlow", ["flowId": .string(flowId)]).prettyText)
        }
    }
}
