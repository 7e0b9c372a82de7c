import Foundation
import NIOCore
import NIOPosix

/// A NATS client over a list of servers that stays connected: when its
/// connection ends it connects again (the next server of the list, or one
/// the cluster announced), with back-off, and subscribes again to what it
/// was subscribed to. Subscriptions survive reconnects; a publish or a
/// request made while there is no connection waits for one (up to its
/// timeout) instead of being buffered without bound.
public actor NATSClient {
    /// How reconnects are paced: each round tries every server once, then waits
    /// `initialDelay`, doubling up to `maxDelay`, with up to 20% jitter.
    public struct ReconnectPolicy: Sendable {
        public var initialDelay: Duration
        public var maxDelay: Duration
        /// How long one attempt may take (connect and handshake).
        public var attemptTimeout: TimeAmount

        public init(initialDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(2),
                    attemptTimeout: TimeAmount = .seconds(5)) {
            self.initialDelay = initialDelay
            self.maxDelay = maxDelay
            self.attemptTimeout = attemptTimeout
        }
    }

    public enum State: Sendable, Equatable {
        case connecting, connected(NATSServerAddress), reconnecting, closed
    }

    private struct Registered {
        let subject: String
        let queue: String?
        let continuation: AsyncStream<NATSMessage>.Continuation
        let gate: PendingGate
        let limits: NATSPendingLimits
        var current: NATSSubscription?
        var forwarder: Task<Void, Never>?
    }

    private var servers: [NATSServerAddress]
    private let options: NATSConnectOptions
    private let tls: NATSTLSOptions
    private let policy: ReconnectPolicy
    private let group: any EventLoopGroup
    private var connection: NATSConnection?
    public private(set) var state: State = .connecting
    private var registered: [Int: Registered] = [:]
    private var nextID = 1
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var watcher: Task<Void, Never>?
    /// How many times the client connected again after losing a connection.
    public private(set) var reconnects = 0
    private let (stateChanges, stateContinuation) = AsyncStream.makeStream(of: State.self, bufferingPolicy: .bufferingNewest(16))

    public init(servers: [NATSServerAddress], options: NATSConnectOptions = .init(), tls: NATSTLSOptions = .init(),
                policy: ReconnectPolicy = .init(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.servers = servers
        self.options = options
        self.tls = tls
        self.policy = policy
        self.group = group
    }

    /// Replies to this client's requests and fetches come under this prefix (`NATSConnectOptions.inboxPrefix`).
    public nonisolated var inboxPrefix: String { options.inboxPrefix }

    /// The client's states as they change (`connected`, `reconnecting`, …).
    public nonisolated var states: AsyncStream<State> { stateChanges }

    /// Connects to the first server of the list that answers; throws when none does,
    /// naming each one and why (a bad token is not tried again elsewhere).
    public func connect() async throws {
        var reasons: [String] = []
        for server in servers {
            let new: NATSConnection
            do {
                new = try await NATSConnection.connect(to: server, options: options, tls: tls, timeout: policy.attemptTimeout, group: group)
            } catch let error as NATSError {
                // Credentials and TLS set-up are the same for every server: said at once, not tried elsewhere.
                switch error {
                case .server, .tls, .tlsRequired: throw error
                default: reasons.append("\(error)"); continue
                }
            }
            do {
                try await use(new)
                return
            } catch {
                await new.close()
                reasons.append("\(server): \(error)")
            }
        }
        throw NATSError.unreachable(servers.map(\.description).joined(separator: ", "), reason: reasons.joined(separator: "; "))
    }

    /// Publishes on the current connection, waiting for one while reconnecting (up to `timeout`).
    public func publish(_ payload: ByteBuffer, to subject: String, replyTo: String? = nil, headers: NATSHeaders? = nil,
                        timeout: Duration = .seconds(10)) async throws {
        try await retrying(timeout: timeout) { try await $0.publish(payload, to: subject, replyTo: replyTo, headers: headers) }
    }

    /// A request on the current connection (waiting for one while reconnecting).
    public func request(_ payload: ByteBuffer, to subject: String, headers: NATSHeaders? = nil,
                        timeout: Duration = .seconds(5)) async throws -> NATSMessage {
        try await retrying(timeout: timeout) { try await $0.request(payload, to: subject, headers: headers, timeout: timeout) }
    }

    /// Waits until the current server processed everything sent so far.
    public func flush() async throws {
        try await retrying(timeout: .seconds(10)) { try await $0.flush() }
    }

    /// Runs `call` on the current connection; when that connection turns out to be gone (its end not
    /// noticed yet), waits for the next one and tries again, until `timeout`.
    private func retrying<T: Sendable>(timeout: Duration, _ call: (NATSConnection) async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while true {
            let connection = try await current(timeout: deadline - ContinuousClock.now)
            do {
                return try await call(connection)
            } catch NATSError.closed(let why) where state != .closed {
                guard ContinuousClock.now < deadline else { throw NATSError.closed(why) }
                await lost(connection)
            }
        }
    }

    /// A subscription that survives reconnects: its stream goes on with the messages
    /// of each new connection (what was published while none was open is not seen: core NATS
    /// keeps nothing; JetStream consumers do).
    /// Past `limits` unread, the client stops reading from the server until the subscriber catches up.
    public func subscribe(to subject: String, queue: String? = nil, limits: NATSPendingLimits = .init()) async throws -> Subscription {
        guard NATSClientOp.isValid(subject: subject, wildcards: true) else { throw NATSError.badSubject(subject) }
        let (stream, continuation) = AsyncStream.makeStream(of: NATSMessage.self)
        let gate = PendingGate(limits: limits)
        continuation.onTermination = { _ in gate.drop() }
        let id = nextID
        nextID += 1
        registered[id] = Registered(subject: subject, queue: queue, continuation: continuation, gate: gate, limits: limits)
        if let connection { try await attach(id, to: connection) }
        return Subscription(id: id, messages: NATSMessages(stream: stream, gate: gate))
    }

    /// A subscription of the client: its messages, across reconnects, until `unsubscribe`.
    public struct Subscription: Sendable {
        public let id: Int
        public let messages: NATSMessages
    }

    /// Ends a subscription: the server is told, its stream finishes.
    public func unsubscribe(_ subscription: Subscription) async {
        guard let r = registered.removeValue(forKey: subscription.id) else { return }
        r.forwarder?.cancel()
        r.continuation.finish()
        await r.current?.unsubscribe()
    }

    /// Closes the connection for good: subscriptions end, waiting calls fail.
    public func close() async {
        state = .closed
        stateContinuation.yield(.closed)
        stateContinuation.finish()
        watcher?.cancel()
        for (_, r) in registered { r.forwarder?.cancel(); r.continuation.finish() }
        registered = [:]
        let w = waiters
        waiters = []
        for c in w { c.resume() }
        await connection?.close()
        connection = nil
    }

    // MARK: inside

    /// Takes `new` as the connection once every subscription is made again on it (a failure
    /// leaves the client without a connection, not with a half-made one).
    private func use(_ new: NATSConnection) async throws {
        // Servers the cluster announces join the list (after those given).
        for url in new.info.connectURLs {
            if let a = try? NATSServerAddress(parsing: url), !servers.contains(where: { $0.host == a.host && $0.port == a.port }) {
                servers.append(NATSServerAddress(host: a.host, port: a.port, tls: new.address.tls))
            }
        }
        for id in registered.keys.sorted() { try await attach(id, to: new) }
        try await new.flush()
        connection = new
        setState(.connected(new.address))
        let w = waiters
        waiters = []
        for c in w { c.resume() }
        watcher = Task { [weak self] in
            _ = await new.ended()
            await self?.lost(new)
        }
    }

    private func attach(_ id: Int, to connection: NATSConnection) async throws {
        guard var r = registered[id] else { return }
        // A small window on the connection: the client's own gate bounds what waits for the subscriber.
        let sub = try await connection.subscribe(to: r.subject, queue: r.queue,
                                                 limits: NATSPendingLimits(messages: 1024, bytes: min(r.limits.bytes, 8 << 20)))
        let continuation = r.continuation, gate = r.gate
        r.forwarder?.cancel()
        r.current = sub
        r.forwarder = Task {
            for await m in sub.messages {
                continuation.yield(m)
                // The subscriber holds too much: stop taking from the connection, which then stops reading.
                if gate.produced(bytes: m.payload.readableBytes) { await gate.waitWhileFull() }
            }
        }
        registered[id] = r
    }

    private func lost(_ old: NATSConnection) async {
        guard connection === old, state != .closed else { return }
        connection = nil
        setState(.reconnecting)
        var delay = policy.initialDelay
        while state != .closed {
            for server in rotated(after: old.address) {
                guard state != .closed else { return }
                if let new = try? await NATSConnection.connect(to: server, options: options, tls: tls, timeout: policy.attemptTimeout, group: group) {
                    do {
                        try await use(new)
                        reconnects += 1
                        return
                    } catch {
                        await new.close()
                    }
                }
            }
            let jitter = Double.random(in: 0...0.2)
            try? await Task.sleep(for: delay + delay * jitter)
            delay = min(delay * 2, policy.maxDelay)
        }
    }

    /// The server list starting after the one that was lost.
    private func rotated(after last: NATSServerAddress) -> [NATSServerAddress] {
        guard let i = servers.firstIndex(of: last) else { return servers }
        return Array(servers[(i + 1)...] + servers[...i])
    }

    private func current(timeout: Duration) async throws -> NATSConnection {
        if let connection { return connection }
        if state == .closed { throw NATSError.closed("closed by this client") }
        let deadline = ContinuousClock.now + timeout
        while connection == nil, state != .closed {
            guard ContinuousClock.now < deadline else { throw NATSError.timedOut("waiting for a connection to any of \(servers.map(\.description))") }
            let wake = Task { [weak self] in
                try? await Task.sleep(until: deadline)
                await self?.wakeAll()
            }
            await withCheckedContinuation { waiters.append($0) }
            wake.cancel()
        }
        guard let connection else { throw NATSError.closed("closed by this client") }
        return connection
    }

    private func wakeAll() {
        let w = waiters
        waiters = []
        for c in w { c.resume() }
    }

    private func setState(_ new: State) {
        state = new
        stateContinuation.yield(new)
    }
}
