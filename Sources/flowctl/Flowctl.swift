import ArgumentParser

@main
struct Flowctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowctl",
        abstract: "Polyflow: run polyglot flows, and control a running Polyflow server.",
        discussion: "Results are JSON on stdout; errors are one line on stderr with a non-zero exit status.",
        subcommands: [
            Serve.self, JoinRunner.self, ListRunners.self, Validate.self, AddOrUpdateFlow.self, RemoveFlow.self, StartFlow.self, StopFlow.self,
            Inject.self, Tail.self, GetFlow.self, ListFlows.self, ListRuntimes.self, ListFlowsForRuntime.self, Status.self,
            SetBreakPointAtModule.self, RemoveBreakPointAtModule.self, SingleStepFlow.self, ResumeFlow.self,
            ListDependencies.self, InstallDependencies.self, RemoveDependencies.self,
        ])
}
