import FlowModel
import NIOCore
import PipeBridge
import RunnerProtocol

/// The debugger's questions to the running process: every module's state and the errors of a step.
extension RuntimeInstance {
    func beginCollectingErrors() { collected = [] }

    /// Asks the runtime for every module's state and waits for the answer (at
    /// most `timeout`); returns the states and the module errors collected
    /// since `beginCollectingErrors`.
    func requestReport(timeout: Duration = .seconds(10)) async -> (states: [ModuleID: JSONValue], errors: [ModuleErrorReport]) {
        let link = self.link
        let before = fullReports
        let sent = (try? await link.loop.submit { link.writer.requestReport() }.get()) ?? false
        // The answer may be handled while this actor waits for the write.
        if sent, fullReports == before {
            let clock = setup.clock
            let timer = Task { [weak self] in
                try? await clock.sleep(for: timeout)
                await self?.releaseReportWaiters()
            }
            await withCheckedContinuation { reportWaiters.append($0) }
            timer.cancel()
        }
        let errors = collected ?? []
        collected = nil
        return (states.merging(reported) { _, new in new }, errors)
    }

    func releaseReportWaiters() {
        let waiters = reportWaiters
        reportWaiters.removeAll()
        for w in waiters { w.resume() }
    }
}
