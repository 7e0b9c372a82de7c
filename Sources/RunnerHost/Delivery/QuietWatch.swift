import FlowModel
import NIOCore
import RunnerProtocol

/// Who waits for a set of links to be quiet (nothing in flight, nothing in
/// their writers' queues): a debugger step, a hot swap's drain. Told of
/// progress by the links' acks (`progressed`), it wakes each waiter whose
/// links are all idle, or fails it after its timeout.
///
/// Confined to the runner's event loop, like the `FlowDebugger` that owns it: every entry asserts it
/// (debug builds), and its timers run on that loop.
final class QuietWatch: @unchecked Sendable {
    private struct Waiter {
        var links: [InstanceLink]
        var promise: EventLoopPromise<Void>
    }

    private let loop: any EventLoop
    private var waiters: [Waiter] = []

    init(loop: any EventLoop) { self.loop = loop }

    /// Succeeds when every link of `links` is idle; fails with `stepTimedOut` after `timeout`.
    func whenQuiet(_ links: [InstanceLink], flow: FlowID, timeout: TimeAmount) -> EventLoopFuture<Void> {
        loop.assertInEventLoop()
        if links.allSatisfy(\.isIdle) { return loop.makeSucceededVoidFuture() }
        let promise = loop.makePromise(of: Void.self)
        waiters.append(Waiter(links: links, promise: promise))
        let busy = links.filter { !$0.isIdle }.map(\.runtime.rawValue)
        let timer = loop.scheduleTask(in: timeout) { [weak self] in
            guard let self, let i = self.waiters.firstIndex(where: { $0.promise.futureResult === promise.futureResult }) else { return }
            self.waiters.remove(at: i)
            promise.fail(RunnerError.stepTimedOut(flow: flow, runtimes: busy))
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }

    /// A link made progress (an ack): wake whoever waits for links that are all idle now.
    func progressed() {
        loop.assertInEventLoop()
        guard !waiters.isEmpty else { return }
        let ready = waiters.filter { $0.links.allSatisfy(\.isIdle) }
        guard !ready.isEmpty else { return }
        waiters.removeAll { w in ready.contains { $0.promise.futureResult === w.promise.futureResult } }
        for w in ready { w.promise.succeed() }
    }

    /// Fails every waiter (the flow is gone).
    func failAll(_ error: any Error) {
        loop.assertInEventLoop()
        let all = waiters
        waiters.removeAll()
        for w in all { w.promise.fail(error) }
    }
}
