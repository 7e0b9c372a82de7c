import FlowModel
import Foundation
import NIOCore
import RunnerProtocol

/// Messages into a flow run from outside its runtimes: an injection, what a
/// previous deployment left, and what this one leaves to the next.
extension FlowRun {
    /// Queues a message for a module's input; refused when its queue is saturated.
    func inject(module: ModuleID, port: PortName?, payload: String) async throws {
        while swapping { await withCheckedContinuation { swapWaiters.append($0) } }
        guard let spec = plan.flow.module(module) else {
            throw RunnerError.unknownModule(plan.flow.id, module, known: plan.flow.modules.map(\.id.rawValue))
        }
        guard let port = port ?? spec.inputs.first else {
            throw RunnerError.unknownPort(FlowModuleID(flow: plan.flow.id, module: module), PortName("in"), known: [])
        }
        guard let (link, slot) = input(module: module, port: port) else {
            throw RunnerError.unknownPort(FlowModuleID(flow: plan.flow.id, module: module), port, known: spec.inputs.map(\.rawValue))
        }
        guard state == .running || state == .degraded || state == .paused else { throw RunnerError.notRunning(plan.flow.id) }
        // The frame is `D<slot> <payload>`: refuse what the runtime could not read, before it is queued.
        if payload.utf8.count + 12 > maxFrameBytes {
            throw RunnerError.payloadTooLarge(FlowModuleID(flow: plan.flow.id, module: module), bytes: payload.utf8.count, limit: maxFrameBytes)
        }
        let buffer = ByteBuffer(string: payload)
        let accepted = try await link.loop.submit { () -> Bool in
            guard link.acceptsInjection else { return false }
            link.enqueue(slot: slot, payload: buffer)
            link.dataPath.flushDirty()
            return true
        }.get()
        if !accepted { throw RunnerError.saturated(FlowModuleID(flow: plan.flow.id, module: module)) }
    }

    /// The link and slot of a module's input in the current plan.
    func input(module: ModuleID, port: PortName) -> (InstanceLink, Int)? {
        guard let (i, slot) = plan.inputSlot(module: module, port: port),
              let hosted = table[run, plan.instances[i].key] else { return nil }
        return (hosted.link, slot)
    }

    /// Moves messages not yet processed (from a previous deployment) into this one's queues.
    func adopt(_ messages: [(Endpoint, ByteBuffer)]) async {
        var resolved: [(InstanceLink, Int, ByteBuffer)] = []
        for (endpoint, payload) in messages {
            if let (link, slot) = input(module: endpoint.module, port: endpoint.port) {
                resolved.append((link, slot, payload))
            } else {
                record(error: ModuleErrorReport(module: endpoint.module, port: endpoint.port,
                                                payload: try? JSONValue(parsing: Data(payload.readableBytesView), nesting: .userValue),
                                                message: "message dropped by redeploy: module or port \"\(endpoint)\" no longer exists", stack: nil),
                       origin: .host)
            }
        }
        guard !resolved.isEmpty else { return }
        let items = resolved
        // In order, on the loop that every link of the runner shares.
        try? await dataPath.loop.submit { for (link, slot, p) in items { link.enqueue(slot: slot, payload: p) } }.get()
    }

    /// Every message not yet processed, oldest first per instance; empties the links.
    func takePending() async -> [(Endpoint, ByteBuffer)] {
        var all: [(Endpoint, ByteBuffer)] = []
        let debugger = self.debugger, links = self.links
        all += (try? await debugger.loop.submit { debugger.takeHeld() }.get()) ?? []
        for link in links {
            // Mapped on the loop: a message's receipt stays there.
            all += (try? await link.loop.submit { link.takeAll().map { (link.slots[$0.slot], $0.payload) } }.get()) ?? []
        }
        return all
    }
}
