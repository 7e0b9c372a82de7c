import FlowModel
import NIOCore
import PipeBridge
import RunnerProtocol

/// Hot swap inside the running process (docs/protocol.md, "Hot swap").
extension RuntimeInstance {
    /// Replaces modules and tables in the running process (docs/protocol.md,
    /// "Hot swap"); the caller made the instance idle. When no process is up
    /// (restarting), the new plan is simply what the next one is configured
    /// with. Returns each loaded module's result.
    func swap(to plan: InstancePlan, load: [ModuleID], remove: [ModuleID], states moved: [ModuleID: JSONValue],
              newModules: Set<ModuleID>, timeout: Duration = .seconds(30)) async -> [ModuleID: RuntimeMessage.LoadResult] {
        setup.plan = plan
        for id in remove { states[id] = nil; pendingInit.remove(id) }
        for (id, state) in moved { states[id] = state }
        pendingInit.formUnion(newModules)
        let frame = HostMessage.Swap(flow: setup.flow, instance: plan, load: load, remove: remove, states: moved, runInit: newModules)
        var buffer = ByteBuffer()
        do { try FrameEncoder.write(.swap(frame), into: &buffer) } catch {
            return Dictionary(uniqueKeysWithValues: load.map { ($0, .init(ok: false, error: "could not encode the swap: \(error)", line: nil)) })
        }
        let link = self.link
        let bytes = buffer
        earlySwapped = nil
        // The answer may be handled while this actor waits for the write.
        let sent = (try? await link.loop.submit { link.writer.writeControlFrame(bytes) }.get()) ?? false
        guard sent, machine.state == .ready else {
            return Dictionary(uniqueKeysWithValues: load.map { ($0, .init(ok: true, error: nil, line: nil)) })
        }
        var results = earlySwapped
        earlySwapped = nil
        if results == nil {
            let clock = setup.clock
            let timer = Task { [weak self] in
                try? await clock.sleep(for: timeout)
                await self?.swapTimedOut()
            }
            results = await withCheckedContinuation { swapWaiter = $0 }
            timer.cancel()
        }
        guard let results else {
            failCurrent(reason: "the runtime did not answer a swap within \(timeout)")
            return Dictionary(uniqueKeysWithValues: load.map { ($0, .init(ok: true, error: nil, line: nil)) })
        }
        pendingInit.subtract(results.filter { $0.value.ok && states[$0.key] != nil }.map(\.key))
        return results
    }

    func swapTimedOut() {
        swapWaiter?.resume(returning: nil)
        swapWaiter = nil
    }

    /// The modules this instance hosts now.
    var modules: [ModuleID] { setup.plan.modules.map(\.id) }
}
