import FlowModel
import Foundation
import NIOCore
import PipeBridge
import RunnerProtocol

/// The end of one process generation: accounting for it, and what the supervisor does next.
extension RuntimeInstance {
    /// The process of the current generation exited: what it committed is kept, a message it
    /// died with is reported, and the state machine says whether to start it again.
    func processExited(_ exit: ProcessExit) async {
        let reason = failReason ?? spawnFailure ?? "runtime process \(exit)"
        failReason = nil
        spawnFailure = nil
        let wasStopping = machine.state == .stopping
        let timedOut = self.timedOut
        self.timedOut = false
        // Let the event loop read what the process wrote before it died (its fifo drained), then detach.
        let link = self.link
        let read = connection?.whenRead(on: link.loop) ?? link.loop.makeSucceededVoidFuture()
        // The culprit's input is named on the loop, where the link's slots live.
        let end = try? await read.map { () -> (ProcessEnd, Endpoint?) in
            let end = link.writer.detach(timedOut: timedOut)
            return (end, end.culprit.map { link.slots[$0.slot] })
        }.get()
        cleanUp()
        // What the process committed is the state after exactly the messages not delivered again.
        for (module, stats) in end?.0.committed ?? [:] {
            guard let state = stats.state else { continue }
            states[module] = state
            pendingInit.remove(module)
        }
        reported = [:]
        report(.processEnded(committed: end?.0.committed ?? [:], states: states))
        if let culprit = end?.0.culprit, let endpoint = end?.1 {
            // Never a silent loss: also when a stop had to kill a handler that did not finish.
            let runtime = setup.plan.runtime.rawValue
            let message = timedOut
                ? "this message ran past the module's time limit of \(timeLimitMs) ms (timeoutMs); the \(runtime) runtime instance was restarted and the messages after it are delivered again"
                : "the \(runtime) runtime instance \(wasStopping ? "was stopped (\(reason))" : "failed (\(reason))") while this message was in progress; the messages after it are delivered again"
            report(.moduleError(ModuleErrorReport(
                module: endpoint.module, port: endpoint.port,
                payload: try? JSONValue(parsing: Data(culprit.payload.readableBytesView), nesting: .userValue),
                message: message, stack: nil), origin: .host))
        }
        let action = machine.exited(reason: reason, at: .now)
        switch action {
        case .scheduleRetry(let delay):
            logger.warning("runtime instance failed; restarting", metadata: ["reason": "\(reason)", "in": "\(delay)"])
            report(.state(.failed, pid: nil, restarts: machine.restarts, reason: reason))
            finishStartWaiters(with: .failure(RunnerError.runtimeFailed(flow: setup.flow, runtime: setup.plan.runtime, reason: reason)))
            after(delay, .retry)
        case .giveUp(let why):
            logger.error("runtime instance failed too often; giving up", metadata: ["reason": "\(why)"])
            report(.state(.failed, pid: nil, restarts: machine.restarts, reason: why))
            report(.gaveUp(reason: why))
            finishStartWaiters(with: .failure(RunnerError.runtimeFailed(flow: setup.flow, runtime: setup.plan.runtime, reason: why)))
        case .none, .spawn, .terminate:
            report(.state(.stopped, pid: nil, restarts: machine.restarts, reason: nil))
            finishStartWaiters(with: .failure(RunnerError.stopped(flow: setup.flow)))
        }
        if machine.state == .stopped || machine.state == .idle || { if case .failed = machine.state { return true } else { return false } }() {
            let waiters = exitWaiters
            exitWaiters.removeAll()
            for w in waiters { w.resume() }
        }
    }

    /// Closes the channel, forgets the process and removes the fifos of the generation that ended.
    private func cleanUp() {
        // Its `stats` still queued (read after its exit) are not taken: its counters are settled.
        endedGeneration = generation
        connection?.close()
        connection = nil
        process = nil
    }
}
