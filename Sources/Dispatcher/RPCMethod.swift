/// The JSON-RPC methods of the API (names as in the Runner API): one closed set, so the
/// dispatch (`RPCMethods.call`), the "did you mean" list of an unknown method and the
/// WebSocket's `subscribe` cannot drift apart.
enum RPCMethod: String, CaseIterable, Sendable {
    case listRuntimes, listFlowsForRuntime, addOrUpdateFlow, removeFlow, startFlow, stopFlow
    case inject, getFlow, listFlows, status, subscribe
    case setBreakPointAtModule, removeBreakPointAtModule, singleStepFlow, resumeFlow, listRunners
    case listDependencies, installDependencies, removeDependencies

    /// Every method name, for an error that lists them.
    static var names: [String] { allCases.map(\.rawValue) }
}
