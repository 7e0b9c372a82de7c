import FlowModel
import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RunnerHost
import RunnerProtocol
import ServiceLifecycle

/// The runner's side of the runner protocol, driven by the pure
/// `DispatcherLinkStateMachine`: connects, says hello, carries out the
/// dispatcher's commands on a `RunnerHost`, sends its events and data
/// batches, pings; holds every module when the dispatcher falls silent for 2
/// intervals (it may be placing them elsewhere); reconnects with back-off
/// (250 ms doubling to 5 s) and gives up an attempt without a welcome within
/// 10 s; stops its runtimes after `grace` held, so that nothing runs unseen.
///
/// Three kinds of tasks feed the machine: a ticker, the connection attempt
/// in flight (opened, welcome, anything heard, closed), and the back-off
/// timers. What the machine returns is carried out by one performer task,
/// in order (a hold is never overtaken by its release).
final class DispatcherConnection: Service, Sendable {
    enum Outcome: Sendable { case refused(String), stopped }

    let url: String
    let token: String?
    let name: RunnerID
    let tags: [String]
    let logger: Logger
    let host: RunnerHost
    /// The order the dispatcher's commands run in (one lane per flow).
    private let lanes = CommandLanes()
    /// A random id for this process, the same across reconnects (see "Two runners with the same name").
    let instance: String
    private let machine: NIOLockedValueBox<DispatcherLinkStateMachine>
    /// The attempt the machine is about (older ones are abandoned: what they hear is ignored).
    private let current = NIOLockedValueBox<LinkAttempt?>(nil)
    /// Where events go: the outbox of the connection the host is attached to.
    private let events = NIOLockedValueBox<AsyncStream<LinkAttempt.Outgoing>.Continuation?>(nil)
    private let work: (stream: AsyncStream<Work>, continuation: AsyncStream<Work>.Continuation)

    private enum Work: Sendable {
        case actions([DispatcherLinkStateMachine.Action])
        /// Attach the host to a welcomed connection (after the welcome's drop and release).
        case attach(LinkAttempt, RunnerWelcome, CheckedContinuation<Void, Never>)
        /// A connection ended: detach the host if it was attached there.
        case detach(LinkAttempt)
    }

    init(url: String, token: String?, name: RunnerID, tags: [String], heartbeat: Duration,
         configuration: RunnerConfiguration, logger: Logger) {
        self.url = url
        self.token = token
        self.name = name
        self.tags = tags
        self.logger = logger
        self.instance = String((0..<16).map { _ in "0123456789abcdef".randomElement()! })
        machine = NIOLockedValueBox(DispatcherLinkStateMachine(now: .now, policy: .every(heartbeat)))
        work = AsyncStream.makeStream(of: Work.self)
        let events = self.events
        host = RunnerHost(configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger) { event in
            let text = String(decoding: RunnerMessage.event(event.boundedForTheDispatcher()).encoded(), as: UTF8.self)
            events.withLockedValue { $0 }?.yield(.text(text))
        }
    }

    /// How `run` ended.
    var outcome: Outcome { ended.withLockedValue { $0 } }
    private let ended = NIOLockedValueBox<Outcome>(.stopped)

    /// Runs until refused or until the service group shuts down (SIGINT/SIGTERM: `RunnerHostService`
    /// has stopped and reaped every runtime by then).
    func run() async throws {
        // Find the runtimes before the first attempt (its welcome is timed).
        _ = await host.listRuntimes()
        machine.withLockedValue { $0 = DispatcherLinkStateMachine(now: .now, policy: $0.policy) }
        let outcome = ended
        let performer = Task { await self.perform(outcome: outcome) }
        let ticker = Task {
            while !Task.isCancelled {
                let interval = self.machine.withLockedValue { $0.policy.interval }
                try? await Task.sleep(for: max(interval / 4, .milliseconds(10)))
                self.feed { $0.tick(at: .now) }
            }
        }
        // `states` reports, at most once per heartbeat interval while attached: a module placed elsewhere
        // after this runner is lost starts from them (docs/runner-protocol.md, "states").
        let reporter = Task {
            while !Task.isCancelled {
                let interval = self.machine.withLockedValue { $0.policy.interval }
                try? await Task.sleep(for: interval)
                guard let out = self.events.withLockedValue({ $0 }) else { continue }
                for report in await self.host.takeStateReports() {
                    out.yield(.text(String(decoding: RunnerMessage.states(flow: report.flow, modules: report.modules).encoded(), as: UTF8.self)))
                }
            }
        }
        feed { $0.start() }
        await withGracefulShutdownHandler {
            await performer.value
        } onGracefulShutdown: { [work] in
            work.continuation.finish()
        }
        ticker.cancel()
        reporter.cancel()
        current.withLockedValue { $0 }?.abandon()
    }

    /// Tells the machine what happened; what it says to do is queued for the performer.
    private func feed(_ change: (inout DispatcherLinkStateMachine) -> [DispatcherLinkStateMachine.Action]) {
        let actions = machine.withLockedValue { change(&$0) }
        if !actions.isEmpty { work.continuation.yield(.actions(actions)) }
    }

    /// `feed`, for an attempt's news: ignored when the attempt was given up meanwhile.
    private func feed(from attempt: LinkAttempt, _ change: (inout DispatcherLinkStateMachine) -> [DispatcherLinkStateMachine.Action]) {
        guard isCurrent(attempt) else { return }
        feed(change)
    }

    private func isCurrent(_ attempt: LinkAttempt) -> Bool { current.withLockedValue { $0 === attempt } }

    // MARK: carrying out the machine's actions

    private func perform(outcome: NIOLockedValueBox<Outcome>) async {
        var attached: LinkAttempt?
        func detach() async {
            guard attached != nil else { return }
            attached = nil
            events.withLockedValue { $0 = nil }
            await host.disconnected()
        }
        for await item in work.stream {
            switch item {
            case .attach(let attempt, let welcome, let done):
                if isCurrent(attempt) {
                    attached = attempt
                    events.withLockedValue { $0 = attempt.continuation }
                    await host.connected(as: StreamEnd(runner: welcome.runner, session: welcome.session),
                                         transport: attempt.relay) { [logger] problem in logger.error("\(problem)") }
                }
                done.resume()
            case .detach(let attempt):
                if attached === attempt { await detach() }
            case .actions(let actions):
                for action in actions {
                    switch action {
                    case .connect:
                        let attempt = LinkAttempt()
                        current.withLockedValue { $0 = attempt }
                        attempt.start { await self.connect(attempt) }
                    case .sendHello:
                        current.withLockedValue { $0 }?.sendHello()
                    case .sendPing(let n):
                        current.withLockedValue { $0 }?.send(.text(String(decoding: RunnerMessage.ping(n).encoded(), as: UTF8.self)))
                    case .closeConnection(let reason):
                        logger.warning("giving up the connection to \(url): \(reason)")
                        let attempt = current.withLockedValue { a -> LinkAttempt? in defer { a = nil }; return a }
                        attempt?.abandon()
                        if let attempt, attached === attempt { await detach() }
                    case .scheduleReconnect(let delay):
                        logger.warning("reconnecting to \(url) in \(delay)")
                        Task {
                            try? await Task.sleep(for: delay)
                            self.feed { $0.retryTimerFired() }
                        }
                    case .holdModules:
                        await host.holdAll()
                    case .releaseModules:
                        await host.releaseAll()
                    case .drop(let leases):
                        logger.warning("dropping \(leases.count) modules placed elsewhere meanwhile: \(leases.map(\.description).joined(separator: ", "))")
                        do { try await host.letGo(leases) } catch { logger.error("could not drop \(leases.count) modules: \(error)") }
                    case .stopRuntimes(let reason):
                        logger.warning("stopping every module here: \(reason) (the dispatcher has placed them elsewhere)")
                        // Removed, not shut down: the runner goes on, and what the next welcome brings is
                        // deployed afresh (a shut-down host refuses every deploy: a returning runner then
                        // could not take its modules back).
                        await host.removeAll()
                        // Nothing is left to hold; what the next welcome brings runs.
                        await host.releaseAll()
                    case .exit(let reason):
                        outcome.withLockedValue { $0 = .refused(reason) }
                        work.continuation.finish()
                    }
                }
            }
        }
    }

    private func hello() async -> RunnerHello {
        let runtimes = await host.listRuntimes().map { RunnerHello.Runtime(id: $0.id, name: $0.name, version: $0.version) }
        return RunnerHello(name: name, instance: instance, runtimes: runtimes, tags: tags, modules: await host.leases())
    }

    // MARK: one connection

    /// One attempt: opens the WebSocket, waits for the welcome, then reads until the connection ends.
    /// The hello is made first (finding the runtimes may take a while): the dispatcher times the hello.
    private func connect(_ attempt: LinkAttempt) async {
        let hello = await self.hello()
        attempt.hello.withLockedValue { $0 = hello }
        var target = url
        if let token { target += "?token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)" }
        let logger = self.logger
        let reason = NIOLockedValueBox("the connection ended")
        do {
            let configuration = WebSocketClientConfiguration(maxFrameSize: RunnerProtocol.defaultMaxMessageBytes)
            let close = try await WebSocketClient.connect(url: target, configuration: configuration, logger: logger) { inbound, outbound, _ in
                let why = await withTaskGroup(of: String?.self) { group in
                    // The one writer of this connection: hello, pings, pongs, replies, events and data batches, in order.
                    group.addTask {
                        for await item in attempt.outgoing {
                            do {
                                switch item {
                                case .text(let t): try await outbound.write(.text(t))
                                case .binary(let b): try await outbound.write(.binary(b))
                                }
                            } catch { return "could not write: \(error)" }
                        }
                        return "given up"
                    }
                    group.addTask { await self.read(inbound, on: attempt) }
                    self.feed(from: attempt) { $0.connected(at: .now) }
                    var why = "the connection ended"
                    while let r = await group.next() {
                        if let r { why = r; break }
                    }
                    attempt.finishOutgoing()
                    group.cancelAll()
                    return why
                }
                reason.withLockedValue { $0 = why }
                try? await outbound.close(.normalClosure, reason: nil)
            }
            // The dispatcher says why it cut this runner off (a protocol error: `RunnerSession`).
            if let said = close?.reason, !said.isEmpty {
                reason.withLockedValue { $0 += " (\(close.map { "\($0.closeCode)" } ?? ""): \(said))" }
            }
        } catch {
            reason.withLockedValue { $0 = "cannot connect to \(url): \(error)" }
        }
        guard isCurrent(attempt) else { return }
        logger.warning("lost the dispatcher at \(url): \(reason.withLockedValue { $0 })")
        work.continuation.yield(.detach(attempt))
        feed(from: attempt) { $0.disconnected(at: .now) }
    }

    /// Reads one connection: the welcome (or a refusal), then commands, pings and data batches.
    private func read(_ inbound: WebSocketInboundStream, on attempt: LinkAttempt) async -> String? {
        nonisolated(unsafe) var messages = inbound.messages(maxSize: RunnerProtocol.defaultMaxMessageBytes).makeAsyncIterator()
        do {
            guard let first = try await messages.next(), case .text(let text) = first else {
                return "the dispatcher closed before its welcome"
            }
            switch try DispatcherMessage.decode(Data(text.utf8)) {
            case .welcome(let welcome):
                guard isCurrent(attempt) else { return "given up" }
                logger.info("joined as \(welcome.runner) (session \(welcome.session))")
                feed(from: attempt) { $0.welcomed(welcome, at: .now) }
                // Commands wait until what the welcome says is done (`drop`, then release).
                await withCheckedContinuation { done in work.continuation.yield(.attach(attempt, welcome, done)) }
            case .refused(let refusal):
                feed(from: attempt) { $0.refused(RunnerRefusal(code: refusal.code, message: "\(refusal.message) (\(refusal.code.rawValue))")) }
                return "refused"
            default:
                return "the dispatcher sent something before its welcome"
            }
            while let message = try await messages.next() {
                guard isCurrent(attempt) else { return "given up" }
                feed { $0.heard(at: .now) }
                switch message {
                case .binary(let batch):
                    attempt.relay.arrived(batch)
                case .text(let text):
                    switch try DispatcherMessage.decode(Data(text.utf8)) {
                    case .command(let id, let command):
                        // A flow's commands in the order they came; reads beside them (`CommandLanes`).
                        lanes.submit(command.lane) {
                            let reply = await self.host.handle(command)
                            attempt.send(.text(String(decoding: RunnerMessage.reply(id: id, reply).encoded(), as: UTF8.self)))
                        }
                    case .ping(let n):
                        attempt.send(.text(String(decoding: RunnerMessage.pong(n).encoded(), as: UTF8.self)))
                    case .pong: break
                    case .welcome, .refused: return "protocol error: a second welcome"
                    }
                }
            }
            return "the dispatcher closed the connection"
        } catch {
            return "the connection failed: \(error)"
        }
    }
}
