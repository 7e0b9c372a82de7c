import Dispatcher
import FlowModel
import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RunnerHost

/// The runner's side of the runner protocol: connects, says hello, carries
/// out the dispatcher's commands on a `RunnerHost`, sends its events and
/// data batches, answers pings; reconnects with back-off (250 ms doubling to
/// 5 s) when the link drops, and stops its runtimes after `grace` without a
/// welcome, so that nothing runs unseen.
final class DispatcherConnection: Sendable {
    enum Outcome: Sendable { case refused(String), stopped }

    private enum Outgoing: Sendable {
        case text(String)
        case binary(ByteBuffer)
    }

    let url: String
    let token: String?
    let name: RunnerID
    let tags: [String]
    let heartbeat: Duration
    let logger: Logger
    let host: RunnerHost
    /// A random id for this process, the same across reconnects (see "Two runners with the same name").
    let instance: String
    static let grace: Duration = .seconds(30)
    private let outbox = NIOLockedValueBox<AsyncStream<Outgoing>.Continuation?>(nil)

    init(url: String, token: String?, name: RunnerID, tags: [String], heartbeat: Duration,
         configuration: RunnerConfiguration, logger: Logger) {
        self.url = url
        self.token = token
        self.name = name
        self.tags = tags
        self.heartbeat = heartbeat
        self.logger = logger
        self.instance = String((0..<16).map { _ in "0123456789abcdef".randomElement()! })
        let outbox = self.outbox
        host = RunnerHost(configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger) { event in
            let text = String(decoding: RunnerMessage.event(event).encoded(), as: UTF8.self)
            outbox.withLockedValue { $0 }?.yield(.text(text))
        }
    }

    /// Runs until refused or until SIGINT/SIGTERM; then every runtime is stopped and reaped.
    func run() async -> Outcome {
        let task = Task { await self.loop() }
        // The signal watch is not a child task: it never ends by itself, and a task group would wait for it.
        let watch = Task.detached {
            await SignalWatch().wait()
            task.cancel()
        }
        let outcome = await task.value
        watch.cancel()
        await host.shutdown()
        return outcome
    }

    private func loop() async -> Outcome {
        var delay: Duration = .milliseconds(250)
        var lastWelcome = ContinuousClock.now
        var stoppedForGrace = false
        while !Task.isCancelled {
            switch await connectOnce() {
            case .refused(let message):
                return .refused(message)
            case .ended(let reason, let welcomed):
                if welcomed {
                    delay = .milliseconds(250)
                    lastWelcome = .now
                    stoppedForGrace = false
                }
                logger.warning("lost the dispatcher at \(url): \(reason); reconnecting in \(delay)")
            }
            if !stoppedForGrace, ContinuousClock.now - lastWelcome > Self.grace {
                logger.warning("no dispatcher for \(Self.grace): stopping every module here (the dispatcher has placed them elsewhere)")
                await host.shutdown()
                stoppedForGrace = true
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
        return .stopped
    }

    private enum Attempt { case refused(String), ended(String, welcomed: Bool) }

    /// How long a connection may take to bring the welcome: past it the attempt is
    /// abandoned (a link that swallows everything, as in a partition, never fails by itself).
    static let welcomeTimeout: Duration = .seconds(10)

    private enum AttemptState { case pending, welcomed, abandoned }

    /// One connection, given up when no welcome comes within `welcomeTimeout`.
    private func connectOnce() async -> Attempt {
        let state = NIOLockedValueBox(AttemptState.pending)
        let waiter = NIOLockedValueBox<CheckedContinuation<Attempt, Never>?>(nil)
        @Sendable func finish(_ attempt: Attempt) {
            waiter.withLockedValue { c in
                c?.resume(returning: attempt)
                c = nil
            }
        }
        // The attempt runs in a task of its own (it may hang past the timeout); a stop cancels it too.
        let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Attempt, Never>) in
                waiter.withLockedValue { $0 = c }
                let attempt = Task { finish(await self.connect(state: state)) }
                let timer = Task {
                    try? await Task.sleep(for: Self.welcomeTimeout)
                    let gaveUp = state.withLockedValue { s -> Bool in
                        guard s == .pending else { return false }
                        s = .abandoned
                        return true
                    }
                    if gaveUp { finish(.ended("no welcome within \(Self.welcomeTimeout)", welcomed: false)) }
                }
                tasks.withLockedValue { $0 = [attempt, timer] }
                if Task.isCancelled {
                    attempt.cancel()
                    timer.cancel()
                    finish(.ended("stopped", welcomed: false))
                }
            }
        } onCancel: {
            for t in tasks.withLockedValue({ $0 }) { t.cancel() }
            finish(.ended("stopped", welcomed: false))
        }
    }

    private func connect(state: NIOLockedValueBox<AttemptState>) async -> Attempt {
        var target = url
        if let token { target += "?token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)" }
        let runtimes = await host.listRuntimes().map { RunnerHello.Runtime(id: $0.id, name: $0.name, version: $0.version) }
        let hello = RunnerHello(name: name, instance: instance, runtimes: runtimes, tags: tags, modules: await host.leases())
        let result = NIOLockedValueBox<Attempt>(.ended("could not connect", welcomed: false))
        let host = self.host, logger = self.logger, outboxBox = self.outbox, heartbeat = self.heartbeat
        do {
            let configuration = WebSocketClientConfiguration(maxFrameSize: RunnerProtocol.defaultMaxMessageBytes)
            _ = try await WebSocketClient.connect(url: target, configuration: configuration, logger: logger) { inbound, outbound, _ in
                try await outbound.write(.text(String(decoding: RunnerMessage.hello(hello).encoded(), as: UTF8.self)))
                nonisolated(unsafe) var messages = inbound.messages(maxSize: RunnerProtocol.defaultMaxMessageBytes).makeAsyncIterator()
                guard let first = try await messages.next(), case .text(let text) = first else {
                    result.withLockedValue { $0 = .ended("the dispatcher closed before its welcome", welcomed: false) }
                    return
                }
                let welcome: RunnerWelcome
                switch try DispatcherMessage.decode(Data(text.utf8)) {
                case .welcome(let w): welcome = w
                case .refused(let r):
                    result.withLockedValue { $0 = .refused("\(r.message) (\(r.code.rawValue))") }
                    return
                default:
                    result.withLockedValue { $0 = .ended("the dispatcher sent something before its welcome", welcomed: false) }
                    return
                }
                let late = state.withLockedValue { s -> Bool in
                    guard s == .pending else { return true }
                    s = .welcomed
                    return false
                }
                // An attempt given up on that is welcomed after all: another one has the runner now.
                guard !late else { return }
                logger.info("joined as \(welcome.runner) (session \(welcome.session))")
                if !welcome.drop.isEmpty {
                    logger.warning("dropping \(welcome.drop.count) modules placed elsewhere meanwhile: \(welcome.drop.map(\.description).joined(separator: ", "))")
                    try? await host.letGo(welcome.drop)
                }
                let (stream, continuation) = AsyncStream.makeStream(of: Outgoing.self)
                outboxBox.withLockedValue { $0 = continuation }
                await host.connected(as: StreamEnd(runner: welcome.runner, session: welcome.session)) { batch in
                    continuation.yield(.binary(batch))
                }
                let heard = NIOLockedValueBox(ContinuousClock.now)
                let interval = welcome.heartbeatMs > 0 ? Duration.milliseconds(welcome.heartbeatMs) : heartbeat
                let lostAfter = Duration.milliseconds(max(welcome.lostAfterMs, welcome.heartbeatMs * 3))
                let reason = await withTaskGroup(of: String?.self) { group in
                    group.addTask {
                        for await item in stream {
                            do {
                                switch item {
                                case .text(let t): try await outbound.write(.text(t))
                                case .binary(let b): try await outbound.write(.binary(b))
                                }
                            } catch { return "could not write: \(error)" }
                        }
                        return nil
                    }
                    group.addTask {
                        var n = 0
                        while !Task.isCancelled {
                            try? await Task.sleep(for: interval)
                            if Task.isCancelled { return nil }
                            n += 1
                            continuation.yield(.text(String(decoding: RunnerMessage.ping(n).encoded(), as: UTF8.self)))
                            let silent = ContinuousClock.now - heard.withLockedValue { $0 }
                            if silent >= lostAfter { return "the dispatcher was silent for \(silent)" }
                        }
                        return nil
                    }
                    group.addTask {
                        do {
                            while let message = try await messages.next() {
                                heard.withLockedValue { $0 = .now }
                                switch message {
                                case .binary(let batch):
                                    host.receive(batch: batch) { problem in logger.error("\(problem)") }
                                case .text(let text):
                                    switch try DispatcherMessage.decode(Data(text.utf8)) {
                                    case .command(let id, let command):
                                        Task {
                                            let reply = await host.handle(command)
                                            continuation.yield(.text(String(decoding: RunnerMessage.reply(id: id, reply).encoded(), as: UTF8.self)))
                                        }
                                    case .ping(let n):
                                        continuation.yield(.text(String(decoding: RunnerMessage.pong(n).encoded(), as: UTF8.self)))
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
                    var why = "the connection ended"
                    while let r = await group.next() {
                        if let r { why = r; break }
                    }
                    continuation.finish()
                    group.cancelAll()
                    return why
                }
                outboxBox.withLockedValue { $0 = nil }
                await host.disconnected()
                result.withLockedValue { $0 = .ended(reason, welcomed: true) }
                try? await outbound.close(.normalClosure, reason: nil)
            }
        } catch {
            let current = result.withLockedValue { $0 }
            if case .ended(_, let welcomed) = current, !welcomed {
                return .ended("cannot connect to \(url): \(error)", welcomed: false)
            }
        }
        return result.withLockedValue { $0 }
    }
}

/// Waits for SIGINT or SIGTERM.
final class SignalWatch: @unchecked Sendable {
    private let sources: NIOLockedValueBox<[any DispatchSourceSignal]> = .init([])
    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let once = NIOLockedValueBox(false)
            var made: [any DispatchSourceSignal] = []
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                s.setEventHandler {
                    let first = once.withLockedValue { v -> Bool in defer { v = true }; return !v }
                    if first { c.resume() }
                }
                s.resume()
                made.append(s)
            }
            sources.withLockedValue { $0 = made }
        }
    }
}
