import FlowModel
import NIOCore
import PipeBridge
import RunnerProtocol

/// What the runtime says on its channel, handled by the instance's loop: the handshake
/// (`hello` → `configure` → `configured`), logs, errors, stats, swaps.
extension RuntimeInstance {
    func handleControl(_ message: RuntimeMessage) async {
        switch message {
        case .hello(let hello):
            if let problem = RuntimeConnection.problem(with: hello) {
                failCurrent(reason: problem)
                return
            }
            await sendConfigure()
        case .configured(let results):
            lastLoad = results
            // `init` has run; it counts as done once the module's state is known
            // (a process that dies before reporting it runs `init` again).
            pendingInit.subtract(results.filter { $0.value.ok && states[$0.key] != nil }.map(\.key))
            machine.ready()
            await attach()
            report(.state(.ready, pid: process?.pid, restarts: machine.restarts, reason: nil))
            finishStartWaiters(with: .success(results))
        case .log(let module, let level, let text):
            report(.log(module: module, level: level, text: text))
        case .error(let error):
            collected?.append(error)
            report(.moduleError(error, origin: .module))
        case .stats(let stats):
            guard endedGeneration != generation else { return }
            // Provisional: for display and debugger steps, never for a restart (see `states`).
            for (module, s) in stats { if let state = s.state { reported[module] = state } }
            report(.stats(stats))
            // The answer to `report` carries every module's state.
            if setup.plan.modules.allSatisfy({ stats[$0.id]?.state != nil }) { fullReports += 1 }
            if !reportWaiters.isEmpty, setup.plan.modules.allSatisfy({ stats[$0.id]?.state != nil }) {
                let waiters = reportWaiters
                reportWaiters.removeAll()
                for w in waiters { w.resume() }
            }
        case .swapped(let results):
            lastLoad.merge(results) { _, new in new }
            if let waiter = swapWaiter {
                waiter.resume(returning: results)
                swapWaiter = nil
            } else {
                earlySwapped = results
            }
        case .commit:
            break  // kept by the link, on the event loop, with the acks
        case .bye:
            break
        case .fatal(let message):
            failCurrent(reason: "runtime reported a fatal error: \(message)")
        case .unknown(let type):
            logger.debug("ignoring control frame \(type)")
        }
    }

    /// The handshake's answer to `hello`: the instance's modules, tables, states and which run `init`.
    private func sendConfigure() async {
        guard let connection else { return }
        let configure = HostMessage.Configure(flow: setup.flow, instance: setup.plan, states: states, runInit: pendingInit)
        do {
            try await connection.send(.configure(configure))
        } catch let error as ChannelError {
            // The channel closed: the process is gone, and its exit drives what comes next.
            logger.debug("configure not sent: \(error)")
        } catch {
            failCurrent(reason: "could not send the configure frame: \(error)")
        }
    }

    /// The runtime is ready: the link writes to it and reads from it from now on.
    private func attach() async {
        guard let connection, let channel = try? await connection.opened() else { return }
        let link = self.link, gen = generation, tell = self.tell
        let limit: TimeAmount? = timeLimitMs > 0 ? .milliseconds(Int64(timeLimitMs)) : nil
        let onSilence = { @Sendable (silent: TimeAmount) -> Void in _ = tell.yield((gen, .silent(silent))) }
        try? await link.loop.submit {
            link.writer.attach(channel, timeLimit: limit, onSilence: onSilence)
        }.get()
    }
}
