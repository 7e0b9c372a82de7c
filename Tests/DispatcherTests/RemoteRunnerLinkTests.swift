import FlowModel
import NIOConcurrencyHelpers
import RunnerProtocol
import Testing
@testable import Dispatcher

/// A joined runner's events and state reports wait for the dispatcher in a bounded inbox: a runner
/// that sends them faster than they are handled is held back (its socket is not read), not buffered
/// without end.
@Suite(.timeLimit(.minutes(1))) struct RemoteRunnerLinkTests {
    func notice(_ n: Int) -> RunnerNotice {
        .event(.resumed(flow: FlowID("f\(n)")))
    }

    @Test func aRunnerThatFloodsNoticesWaitsUntilTheDispatcherReadsThem() async throws {
        let link = RemoteRunnerLink(runnerID: RunnerID("noisy"), session: 2, maxNoticeBytes: 1000)
        let done = NIOLockedValueBox(0)
        let session = Task {
            for n in 0..<3 {
                await link.received(notice(n), bytes: 600)
                done.withLockedValue { $0 += 1 }
            }
        }
        // The first fits; the second goes over the bound and its sender waits.
        while link.noticeBacklogBytes < 1200 || done.withLockedValue({ $0 }) < 1 { await Task.yield() }
        #expect(done.withLockedValue { $0 } == 1, "the session waits while 1200 bytes of 1000 are not read")
        var reader = link.notices.makeAsyncIterator()
        let first = await reader.next()
        #expect(first.map { "\($0)" } == "\(notice(0))")
        #expect(done.withLockedValue { $0 } == 1, "600 bytes still not read: over half the bound, the session still waits")
        _ = await reader.next()
        // Now nothing waits: the session goes on and sends the third.
        _ = await reader.next()
        await session.value
        #expect(done.withLockedValue { $0 } == 3)
        #expect(link.noticeBacklogBytes == 0)
    }

    @Test func closingTheLinkLetsAWaitingSessionGo() async throws {
        let link = RemoteRunnerLink(runnerID: RunnerID("noisy"), session: 2, maxNoticeBytes: 100)
        let session = Task { await link.received(notice(0), bytes: 500) }
        while link.noticeBacklogBytes < 500 { await Task.yield() }
        link.close(reason: "the connection ended")
        await session.value
        // Nothing more is taken after the close.
        await link.received(notice(1), bytes: 500)
        #expect(link.noticeBacklogBytes == 500)
    }
}
