import FlowModel
import Foundation
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import RunnerProtocol
import ServiceLifecycle

/// One runner's WebSocket at `/runners` (docs/runner-protocol.md): its
/// hello (within `helloTimeout`, at most `maxHelloBytes`), the admission,
/// then commands out and replies, events, states, pings and data batches in.
/// The access guard has already checked origin, host and (when one was offered)
/// the token at the upgrade; without one there, the hello must carry it.
struct RunnerSession {
    let directory: RunnerDirectory
    let registry: FlowRegistry
    let heartbeat: Duration
    let lostAfter: Duration
    /// How long a runner whose connection ended has to reconnect before its modules are placed elsewhere.
    /// (One heartbeat interval: a runner's first reconnect comes 250 ms after it saw the connection end.)
    /// Another instance asking for the name meanwhile (a new browser tab) takes it at once (`RunnerAdmission`).
    var reconnectGrace: Duration { min(heartbeat, lostAfter / 3) }
    /// The bound of what waits to be written to one runner (`RemoteRunnerLink.maxPendingBytes`).
    var outboxBytes = RemoteRunnerLink.defaultMaxPendingBytes
    let logger: Logger
    /// The server's token, if any: a runner that offered none at the upgrade must give it in its hello.
    var token: String? = nil

    /// - Parameter welcomed: called once the runner is welcomed (lifts the connection's bound before the hello).
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, tokenAtUpgrade: Bool = true,
             welcomed: @escaping @Sendable () -> Void = {}) async throws {
        try await cancelWhenGracefulShutdown {
            try await serve(inbound: inbound, outbound: outbound, tokenAtUpgrade: tokenAtUpgrade, welcomed: welcomed)
        }
    }

    private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, tokenAtUpgrade: Bool,
                       welcomed: @Sendable () -> Void) async throws {
        nonisolated(unsafe) var messages = inbound.messages(maxSize: RunnerProtocol.defaultMaxMessageBytes).makeAsyncIterator()
        // The hello, within its time (the connection is closed past it).
        // At least `helloTimeout`; longer with a long heartbeat (a slow link or machine).
        let helloTimeout = max(RunnerProtocol.helloTimeout, heartbeat * 5)
        let timer = Task {
            try await Task.sleep(for: helloTimeout)
            try? await refuse(outbound, RunnerRefusal(code: .badHello, message: "no hello within \(helloTimeout)"))
        }
        let first = try? await messages.next()
        timer.cancel()
        guard case .text(let text) = first else {
            try? await refuse(outbound, RunnerRefusal(code: .badHello, message: "the first message must be a hello (JSON text)"))
            return
        }
        let hello: RunnerHello
        do {
            guard case .hello(let h) = try RunnerMessage.decode(Data(text.utf8), maxBytes: RunnerProtocol.maxHelloBytes) else {
                throw RunnerProtocolError(.badField, "the first message must be a hello")
            }
            hello = h
        } catch {
            try? await refuse(outbound, RunnerRefusal(code: .badHello, message: "\(error)"))
            return
        }
        let decision = RunnerAdmission.decide(hello, token: token, authenticatedAtUpgrade: tokenAtUpgrade,
                                              holder: await directory.holder(hello.name), placement: await registry.currentPlacement())
        let drop: [ModuleLease]
        switch decision {
        case .refuse(let refusal):
            logger.warning("refused runner \(hello.name.rawValue): \(refusal.message)")
            try? await refuse(outbound, refusal)
            return
        case .welcome(let d, _):
            drop = d
        case .takeOver(let d, let ended):
            // The old holder's runtimes went with its connection: its modules are placed again first.
            logger.info("runner \(hello.name.rawValue): another instance takes the name of session \(ended), whose connection ended")
            await directory.lost(hello.name, session: ended, reason: "its connection ended and another instance took the name")
            drop = d
        }
        let session = await directory.newSession()
        let me = StreamEnd(runner: hello.name, session: session)
        let heartbeats = NIOLockedValueBox(HeartbeatStateMachine(
            connectedAt: .now,
            policy: .init(interval: heartbeat, suspectAfter: min(heartbeat * 2, lostAfter), lostAfter: lostAfter)))
        let link = RemoteRunnerLink(runnerID: hello.name, session: session, maxPendingBytes: outboxBytes,
                                    lastHeard: { heartbeats.withLockedValue { $0.lastHeard } })
        let welcome = RunnerWelcome(runner: hello.name, session: session,
                                    heartbeatMs: Int(heartbeat.components.seconds * 1000 + heartbeat.components.attoseconds / 1_000_000_000_000_000),
                                    lostAfterMs: Int(lostAfter.components.seconds * 1000 + lostAfter.components.attoseconds / 1_000_000_000_000_000),
                                    drop: drop)
        let info = RunnerInfo(id: hello.name, instance: hello.instance, runtimes: hello.runtimes, tags: hello.tags,
                              state: .live, session: session, joined: Date(), reason: nil, local: false)
        await directory.register(info, link: link)
        // Admitted: its messages are bounded by the protocol's limits from now on (lifted before the
        // welcome is written, so that nothing the runner sends once welcomed meets the hello's bound).
        welcomed()
        do {
            try await outbound.write(.text(String(decoding: DispatcherMessage.welcome(welcome).encoded(), as: UTF8.self)))
        } catch {
            link.close(reason: "could not write the welcome")
            await directory.lost(hello.name, session: session, reason: "could not write the welcome: \(error)")
            return
        }
        _ = heartbeats.withLockedValue { $0.welcomed(at: .now) }
        logger.info("runner \(hello.name.rawValue) joined (session \(session), runtimes \(hello.runtimes.map(\.id.rawValue).joined(separator: ",")), tags \(hello.tags.joined(separator: ",")))")
        var reason = "the connection closed"
        // What the runner said that cuts it off (a protocol error): it is told why in the close frame.
        let violation = NIOLockedValueBox<String?>(nil)
        // The connection itself ended (closed, reset, a write failed): maybe the runner is alive and reconnects.
        let connectionEnded = NIOLockedValueBox(false)
        await withTaskGroup(of: String?.self) { group in
            // The one writer: commands, pongs, pings and data batches, in order.
            group.addTask {
                for await item in link.outbox {
                    do {
                        switch item {
                        case .text(let t): try await outbound.write(.text(t))
                        case .binary(let b):
                            try await outbound.write(.binary(b))
                            link.written(bytes: b.readableBytes)
                        }
                    } catch {
                        connectionEnded.withLockedValue { $0 = true }
                        return "could not write to the runner: \(error)"
                    }
                }
                // The outbox ends when the link is closed: by the session (a reason is already set), or for its size.
                return link.closedReason
            }
            // Heartbeats, as `HeartbeatStateMachine` says: a ping every interval;
            // silent for 2 intervals: suspect (takes no new modules); past `lostAfter`: lost.
            group.addTask {
                let tick = max(heartbeat / 4, .milliseconds(10))
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    if Task.isCancelled { return nil }
                    // Closed meanwhile (its outbox overflowed: the writer may be stuck on a socket that is not read).
                    if let why = link.closedReason { return why }
                    for action in heartbeats.withLockedValue({ $0.tick(at: .now) }) {
                        switch action {
                        case .sendPing(let n): link.write(.ping(n))
                        case .markSuspect: await directory.setState(hello.name, session: session, .suspect)
                        case .markLive: await directory.setState(hello.name, session: session, .live)
                        case .markLost(let reason), .closeConnection(let reason): return reason
                        case .replaceModules: break
                        }
                    }
                }
                return nil
            }
            group.addTask {
                await directory.changed()
                return nil
            }
            group.addTask {
                do {
                    while let message = try await messages.next() {
                        if heartbeats.withLockedValue({ $0.heard(at: .now) }) == [.markLive] {
                            await directory.setState(hello.name, session: session, .live)
                        }
                        switch message {
                        case .binary(let batch):
                            if let problem = directory.forward(batch, from: me) {
                                violation.withLockedValue { $0 = problem }
                                return "protocol error: \(problem)"
                            }
                        case .text(let text):
                            let decoded: RunnerMessage
                            do { decoded = try RunnerMessage.decode(Data(text.utf8)) } catch {
                                violation.withLockedValue { $0 = "\(error)" }
                                return "protocol error: \(error)"
                            }
                            switch decoded {
                            case .reply(let id, let reply): link.resolve(id: id, reply)
                            case .event(let event): await link.received(.event(event), bytes: text.utf8.count)
                            case .states(let flow, let modules): await link.received(.states(flow: flow, modules: modules), bytes: text.utf8.count)
                            case .ping(let n): link.write(.pong(n))
                            case .pong: break
                            case .hello:
                                violation.withLockedValue { $0 = "a second hello" }
                                return "protocol error: a second hello"
                            }
                        }
                    }
                    connectionEnded.withLockedValue { $0 = true }
                    return "the runner closed the connection"
                } catch {
                    connectionEnded.withLockedValue { $0 = true }
                    return "the connection failed: \(error)"
                }
            }
            // The first task to end with a reason ends the session.
            while let result = await group.next() {
                if let why = result {
                    reason = why
                    break
                }
            }
            link.close(reason: reason)
            group.cancelAll()
        }
        if let why = violation.withLockedValue({ $0 }) {
            // A close frame's reason is at most 123 bytes.
            try? await outbound.close(.policyViolation, reason: String(decoding: Array(why.utf8.prefix(120)), as: UTF8.self))
        }
        if reconnectGrace > .zero, connectionEnded.withLockedValue({ $0 }), violation.withLockedValue({ $0 }) == nil {
            // A reset with both sides alive looks like a death from here: the runner gets `reconnectGrace`
            // to come back on a new connection (the same instance replaces this session and keeps its
            // modules, their runtimes and live state); a dead one is lost that much later, unless
            // another instance takes its name first.
            await directory.connectionEnded(hello.name, session: session)
            try? await Task.sleep(for: reconnectGrace)
        }
        logger.info("runner \(hello.name.rawValue) (session \(session)) lost: \(reason)")
        await directory.lost(hello.name, session: session, reason: reason)
    }

    private func refuse(_ outbound: WebSocketOutboundWriter, _ refusal: RunnerRefusal) async throws {
        try await outbound.write(.text(String(decoding: DispatcherMessage.refused(refusal).encoded(), as: UTF8.self)))
        try await outbound.close(.policyViolation, reason: nil)
    }
}
