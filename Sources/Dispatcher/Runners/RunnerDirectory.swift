import FlowModel
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RunnerHost
import RunnerProtocol

/// A runner as `listRunners` shows it.
public struct RunnerInfo: Sendable {
    public var id: RunnerID
    public var instance: String
    public var runtimes: [RunnerHello.Runtime]
    public var tags: [String]
    public var state: RunnerState
    public var session: Int
    public var joined: Date
    /// Why it is `lost`.
    public var reason: String?
    public var local: Bool
    /// Its connection ended; it may still reconnect (`RunnerSession.reconnectGrace`).
    public var connectionEnded = false
}

/// The runners joined to this dispatcher, their connections, and the
/// forwarding of data batches between them (docs/runner-protocol.md,
/// "What the dispatcher does with a batch"): the header is read, the
/// payloads are not.
public actor RunnerDirectory {
    private var runners: [RunnerID: RunnerInfo] = [:]
    private var links: [RunnerID: any RunnerLink] = [:]
    /// Session 1 is the dispatcher's own (`injector.end`); connections of runners count from 2.
    private var nextSession = 2
    /// Live connections by (runner, session), read on every forwarded batch without a hop to the actor.
    private let routing = NIOLockedValueBox<[StreamEnd: any BatchReceiver]>([:])
    /// Batches dropped because their receiver's connection is gone.
    private let dropped = NIOLockedValueBox<Int>(0)
    /// What each joined runner may speak for, read on every forwarded batch and every event.
    private let trust = NIOLockedValueBox(RunnerTrust())
    private var onChange: (@Sendable () async -> Void)?
    private var onRunnerState: (@Sendable (RunnerID, RunnerState, String?) -> Void)?
    private var onNotice: (@Sendable (RunnerID, RunnerNotice) async -> Void)?

    /// Messages injected through the API: a stream of the dispatcher's own to each runner.
    public nonisolated let injector: InjectSource

    public init() {
        let end = StreamEnd(runner: .dispatcher, session: 1)
        injector = InjectSource(end: end, loop: MultiThreadedEventLoopGroup.singleton.next())
        let routing = self.routing, dropped = self.dropped, injector = self.injector, trust = self.trust
        routing.withLockedValue { $0[end] = InjectorLink(injector: injector) }
        injector.connect { batch in _ = Self.forward(batch, from: end, routing: routing, dropped: dropped, trust: trust) }
    }

    /// Called after every join and every loss (the registry places again).
    public func setOnChange(_ handler: @escaping @Sendable () async -> Void) { onChange = handler }

    /// Told what every runner says on its own (its link's `notices`), in order per runner.
    /// Set before the first runner is added.
    public func setOnNotice(_ handler: @escaping @Sendable (RunnerID, RunnerNotice) async -> Void) { onNotice = handler }

    /// Told when a runner joins or is lost (for subscribers' `runnerState` events).
    public func setOnRunnerState(_ handler: @escaping @Sendable (RunnerID, RunnerState, String?) -> Void) { onRunnerState = handler }

    public func newSession() -> Int {
        defer { nextSession += 1 }
        return nextSession
    }

    /// Who holds `name` now (for `RunnerAdmission`).
    public func holder(_ name: RunnerID) -> RunnerAdmission.Holder? {
        runners[name].map { .init(instance: $0.instance, state: $0.state, session: $0.session, connectionEnded: $0.connectionEnded) }
    }

    /// A runner's connection ended and it has the grace to reconnect: `suspect` meanwhile, and its
    /// name goes at once to another instance that asks for it (`RunnerAdmission.Decision.takeOver`).
    public func connectionEnded(_ id: RunnerID, session: Int) async {
        guard var info = runners[id], info.session == session, info.state != .lost else { return }
        info.connectionEnded = true
        runners[id] = info
        await setState(id, session: session, .suspect)
    }

    /// A runner was welcomed: it takes modules from now on. A connection it replaces is closed.
    public func add(_ info: RunnerInfo, link: any RunnerLink) async {
        register(info, link: link)
        await onChange?()
    }

    /// Takes a runner in without placing anything yet (`changed` does that): a joined
    /// runner is registered before its welcome is written, so that once it knows it
    /// joined, the dispatcher already counts it; the commands placement then sends it
    /// wait in its outbox behind the welcome.
    public func register(_ info: RunnerInfo, link: any RunnerLink) {
        if let old = runners[info.id] {
            routing.withLockedValue { $0[StreamEnd(runner: old.id, session: old.session)] = nil }
            links[info.id]?.close(reason: "replaced by a new connection of the same runner")
        }
        runners[info.id] = info
        links[info.id] = link
        routing.withLockedValue { $0[StreamEnd(runner: info.id, session: info.session)] = link }
        // What it says on its own, in order, until its link is closed.
        if let onNotice {
            let id = info.id
            Task { for await notice in link.notices { await onNotice(id, notice) } }
        }
        onRunnerState?(info.id, info.state, nil)
    }

    /// Places every flow again (after `register`).
    public func changed() async { await onChange?() }

    /// A connected runner turned `suspect` (silent for a while: it keeps its modules and takes no new
    /// ones) or `live` again. Not for `lost`: see `lost(_:session:reason:)`.
    public func setState(_ id: RunnerID, session: Int, _ state: RunnerState) async {
        guard state != .lost, var info = runners[id], info.session == session, info.state != .lost, info.state != state else { return }
        info.state = state
        info.reason = state == .suspect ? "no heartbeat for a while" : nil
        runners[id] = info
        onRunnerState?(id, state, info.reason)
        // Back to live: modules that found no place meanwhile may go there.
        if state == .live { await onChange?() }
    }

    /// A runner's connection ended (`session`: that connection; a newer one of the same runner is not touched).
    public func lost(_ id: RunnerID, session: Int, reason: String) async {
        guard var info = runners[id], info.session == session else { return }
        info.state = .lost
        info.reason = reason
        runners[id] = info
        links.removeValue(forKey: id)?.close(reason: reason)
        routing.withLockedValue { $0[StreamEnd(runner: id, session: session)] = nil }
        onRunnerState?(id, .lost, reason)
        await onChange?()
    }

    public func list() -> [(info: RunnerInfo, lastSeen: Date?)] {
        let now = ContinuousClock.now, date = Date()
        return runners.keys.sorted().map { id in
            (runners[id]!, links[id].map { link in
                let silence = now - link.lastHeard
                return date.addingTimeInterval(-(Double(silence.components.seconds) + Double(silence.components.attoseconds) / 1e18))
            })
        }
    }

    /// Every runner that may hold modules, as placement sees it.
    public func placementRunners() -> [PlacementRunner] {
        runners.values.filter { $0.state != .lost }.map {
            PlacementRunner(id: $0.id, runtimes: Set($0.runtimes.map(\.id)), tags: Set($0.tags), state: $0.state)
        }
    }

    public func link(_ id: RunnerID) -> (any RunnerLink)? { links[id] }

    /// The runners that are `suspect` now (silent for a while, not yet lost).
    public func suspects() -> Set<RunnerID> { Set(runners.values.filter { $0.state == .suspect }.map(\.id)) }

    public func session(_ id: RunnerID) -> Int? { runners[id].flatMap { $0.state == .lost ? nil : $0.session } }

    /// The live runners that have each runtime.
    public func runtimes() -> [RuntimeKind: [(RunnerID, RunnerHello.Runtime)]] {
        var out: [RuntimeKind: [(RunnerID, RunnerHello.Runtime)]] = [:]
        for info in runners.values.sorted(by: { $0.id < $1.id }) where info.state != .lost {
            for r in info.runtimes { out[r.id, default: []].append((info.id, r)) }
        }
        return out
    }

    /// Forwards a data batch from `sender` as it is. Returns a reason when it
    /// is refused (the sender is then disconnected with it): an unreadable
    /// header or frame header (every frame's header is walked, its payload
    /// skipped by length, never read), a `from` that is not the sender's own
    /// connection (one runner cannot speak for another), or a frame from a
    /// joined runner for an input that no module placed on it sends to
    /// (`RunnerTrust`). A batch whose receiver is gone is dropped and
    /// counted: its sender keeps the frames and sends them again where
    /// `routes` says.
    public nonisolated func forward(_ batch: ByteBuffer, from sender: StreamEnd) -> String? {
        Self.forward(batch, from: sender, routing: routing, dropped: dropped, trust: trust)
    }

    private static func forward(_ batch: ByteBuffer, from sender: StreamEnd, routing: NIOLockedValueBox<[StreamEnd: any BatchReceiver]>,
                                dropped: NIOLockedValueBox<Int>, trust: NIOLockedValueBox<RunnerTrust>) -> String? {
        var view = batch
        let header: DataBatchHeader
        do { header = try DataBatchCodec.header(from: &view) } catch { return "unreadable data batch: \(error)" }
        guard header.from == sender else {
            return "a data batch from \(sender) claims to come from \(header.from)"
        }
        // The dispatcher's inject stream and the embedded runner are this process's own code.
        // One look at the trust per batch (a copy of a value), one check per run of frames to one target.
        let allowed = sender.runner != .dispatcher && sender.runner != .local ? trust.withLockedValue { $0 } : nil
        let now = ContinuousClock.now
        var index = 0
        var lastAllowed: RunnerTrust.Target?
        while view.readableBytes > 0 {
            let frame: DataFrame
            do { frame = try DataBatchCodec.frame(from: &view, maxFrameBytes: RunnerProtocol.defaultMaxFrameBytes, index: index) } catch {
                return "unreadable data batch: \(error)"
            }
            if let allowed {
                let target = RunnerTrust.Target(flow: frame.flow, module: frame.module, port: frame.port)
                if target != lastAllowed {
                    guard allowed.maySend(sender.runner, to: target, now: now) else {
                        return "refused a frame for \(frame.flow)/\(frame.module).\(frame.port): no module placed on runner \(sender.runner) sends to it"
                    }
                    lastAllowed = target
                }
            }
            index += 1
        }
        guard let target = routing.withLockedValue({ $0[header.to] }) else {
            dropped.withLockedValue { $0 += 1 }
            return nil
        }
        target.deliver(batch: batch)
        return nil
    }

    /// Replaces what each runner may speak for (the registry, after placement or a flow changed).
    public nonisolated func updateTrust(_ change: (RunnerTrust) -> RunnerTrust) {
        trust.withLockedValue { $0 = change($0) }
    }

    /// Whether an event from `runner` concerns what is placed on it (events of joined runners only).
    public nonisolated func admits(_ event: RunnerEvent, from runner: RunnerID) -> Bool {
        runner == .local || trust.withLockedValue { $0.admits(event, from: runner) }
    }

    /// The flows with a module placed on `runner` now.
    public nonisolated func flows(placedOn runner: RunnerID) -> [FlowID] {
        trust.withLockedValue { Set(($0.placed[runner] ?? [:]).keys.map(\.flow)).sorted() }
    }

    /// Adds the embedded runner (`flowctl serve` without `--no-local-runner`): its batches go through `forward` like any runner's.
    public func addLocal(_ link: LocalRunnerLink, tags: [String] = []) async {
        let session = newSession()
        let me = StreamEnd(runner: .local, session: session)
        await link.connect(as: me) { [weak self] batch in _ = self?.forward(batch, from: me) }
        guard case .runtimes(let found) = await link.send(.listRuntimes) else { return }
        let runtimes = found.map { RunnerHello.Runtime(id: $0.id, name: $0.name, version: $0.version) }
        await add(RunnerInfo(id: .local, instance: "local", runtimes: runtimes, tags: tags, state: .live,
                             session: session, joined: Date(), reason: nil, local: true),
                  link: link)
    }

    public nonisolated var droppedBatches: Int { dropped.withLockedValue { $0 } }
}

/// Where batches for the injector's end go: the runners' acks for injected messages.
struct InjectorLink: BatchReceiver {
    let injector: InjectSource
    func deliver(batch: ByteBuffer) { injector.receive(batch: batch) }
}
