import FlowModel
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PipeBridge
import RunnerHost
import RunnerProtocol
import ServiceLifecycle

/// Settings of `flowctl serve`.
public struct DispatcherConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var stateDirectory: String
    public var token: String?
    /// Origins (besides the server's own) whose pages may use the API (`--allow-origin`).
    public var allowedOrigins: [String] = []
    /// Names (besides loopback, or the bound address) the server may be reached by (`--allow-host`).
    public var allowedHosts: [String] = []
    public var limits = APIServer.Limits()
    /// The web page's files (`web/`: `index.html`, its CSS and JS modules).
    public var webDirectory = WebDirectory.defaultPath()
    public var runner: RunnerConfiguration
    /// Whether the dispatcher runs an embedded runner (`--no-local-runner` turns it off).
    public var localRunner = true
    /// How often the dispatcher pings runners, and how long a silent one stays before it is lost (`--heartbeat`).
    public var heartbeat: Duration = RunnerProtocol.defaultHeartbeatInterval
    public var lostAfterBeats = 3
    /// How many bytes of data batches the dispatcher holds for one joined runner before it cuts it off (`--runner-outbox-mib`).
    public var runnerOutboxBytes = RemoteRunnerLink.defaultMaxPendingBytes
    /// The embedded runner's tags (`--tags` on `serve`).
    public var localTags: [String] = []
    /// Flow documents (code inlined) to deploy and start once serving.
    public var initialFlows: [JSONValue]

    public init(host: String = "127.0.0.1", port: Int = 7770, stateDirectory: String = StateStore.defaultDirectory(),
                token: String? = nil, runner: RunnerConfiguration = .init(), initialFlows: [JSONValue] = []) {
        self.host = host; self.port = port; self.stateDirectory = stateDirectory
        self.token = token; self.runner = runner; self.initialFlows = initialFlows
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// The dispatcher with its embedded runner: the API server and the flows,
/// run under one `ServiceGroup`. SIGTERM/SIGINT stop the flows, reap every
/// runtime process and remove every fifo before the process exits.
public struct Dispatcher: Sendable {
    public let configuration: DispatcherConfiguration
    public let logger: Logger

    public init(configuration: DispatcherConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until a signal; `onListening` gets the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        if !DispatcherConfiguration.isLoopback(configuration.host) && configuration.token == nil {
            throw DispatcherStartError("binding \(configuration.host) exposes code execution to the network: pass --token SECRET (every client must present it), or bind 127.0.0.1")
        }
        let hub = EventHub(limits: configuration.limits.subscriberEvents)
        let registryBox = NIOLockedValueBox<FlowRegistry?>(nil)
        let directory = RunnerDirectory()
        // Every runner's events, the embedded one's and the joined ones', come here. A joined
        // runner's count only for what is placed on it (`RunnerTrust`): others are dropped.
        let events: @Sendable (RunnerID, RunnerEvent) -> Void = { runner, event in
            guard directory.admits(event, from: runner) else {
                logger.debug("dropped a \(EventHub.kind(of: event).rawValue) event from runner \(runner) about flow \(event.flow?.rawValue ?? "-"), which has no part there")
                return
            }
            hub.publish(runner == .local ? event : EventHub.checked(event))
            if case .paused(let flow, _, _, _) = event, let registry = registryBox.withLockedValue({ $0 }) {
                Task { await registry.pauseElsewhere(flow, except: runner) }
            }
        }
        let notices = LocalRunnerLink.makeNotices()
        let host = configuration.localRunner
            ? RunnerHost(configuration: configuration.runner, eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                         logger: logger, events: { notices.1.yield(.event($0)) })
            : nil
        let store = StateStore(directory: configuration.stateDirectory)
        do { try store.prepare() } catch {
            throw DispatcherStartError("cannot use state directory \(error); choose another with --state-dir")
        }
        do { try PrivateDirectory.prepare(configuration.runner.fifoDirectory, allowSymlink: false) } catch {
            throw DispatcherStartError("cannot use the fifo directory \(error) (it is $XDG_RUNTIME_DIR/polyflow, or /tmp/polyflow-UID without XDG_RUNTIME_DIR)")
        }
        let registry = FlowRegistry(store: store, directory: directory, logger: logger)
        registryBox.withLockedValue { $0 = registry }
        await directory.setOnChange { await registry.runnersChanged() }
        // What every runner says on its own comes through its link.
        await directory.setOnNotice { runner, notice in
            switch notice {
            case .event(let event): events(runner, event)
            case .states(let flow, let modules): await registry.noteStates(flow, from: runner, modules)
            }
        }
        await directory.setOnRunnerState { runner, state, reason in
            hub.publishRunner(runner, state: state.rawValue, reason: reason)
            // Its flows are degraded until their modules are placed again (or it is heard again): say so
            // per flow, as for any other change of a flow's state (placement has not moved them yet).
            guard state != .live else { return }
            let why = "runner \(runner) is \(state.rawValue)" + (reason.map { ": \($0)" } ?? "")
            for flow in directory.flows(placedOn: runner) {
                hub.publish(.flowState(flow: flow, state: .degraded, reason: why))
            }
        }
        if let host { await directory.addLocal(LocalRunnerLink(host: host, notices: notices), tags: configuration.localTags) }
        let endpoint = RPCEndpoint(methods: RPCMethods(registry: registry))
        let runnerSessions = RunnerSession(directory: directory, registry: registry, heartbeat: configuration.heartbeat,
                                           lostAfter: configuration.heartbeat * configuration.lostAfterBeats,
                                           outboxBytes: configuration.runnerOutboxBytes, logger: logger,
                                           token: configuration.token)
        let files = StaticFiles(webDirectory: configuration.webDirectory, runtimesDirectory: configuration.runner.runtimesDirectory)
        let router = APIServer.makeRouter(endpoint: endpoint, hub: hub, runners: runnerSessions, files: files)
        let policy = AccessPolicy(boundHost: configuration.host, token: configuration.token,
                                  allowedOrigins: configuration.allowedOrigins, allowedHosts: configuration.allowedHosts)
        let flows = FlowService(host: host, registry: registry, initialFlows: configuration.initialFlows, logger: logger)
        let app = Application(
            router: router,
            server: APIServer.serverBuilder(router: router, policy: policy, limits: configuration.limits),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "polyflow"),
            onServerRunning: { channel in
                onListening(channel.localAddress?.port ?? configuration.port)
                await flows.serverIsUp()
            },
            logger: logger)
        // Shut down in reverse order: the flows stop first (runtimes reaped,
        // fifos removed) whatever clients do; then the server closes its
        // connections. A client that still holds it is cut off after the
        // grace period.
        var groupConfiguration = ServiceGroupConfiguration(services: [app, flows], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(20)
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch let error as DispatcherStartError {
            throw error
        } catch {
            let text = "\(error)"
            if let io = error as? IOError, io.errnoCode == EADDRINUSE {
                throw DispatcherStartError("port \(configuration.port) on \(configuration.host) is already in use: stop the other server or pick another port with --port")
            }
            throw DispatcherStartError("server failed: \(text)")
        }
    }
}

public struct DispatcherStartError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Restores and deploys flows once the server is listening, and stops them all on shutdown.
actor FlowService: Service {
    let host: RunnerHost?
    let registry: FlowRegistry
    let initialFlows: [JSONValue]
    let logger: Logger
    private var up = false

    init(host: RunnerHost?, registry: FlowRegistry, initialFlows: [JSONValue], logger: Logger) {
        self.host = host; self.registry = registry; self.initialFlows = initialFlows; self.logger = logger
    }

    func serverIsUp() async {
        guard !up else { return }
        up = true
        do { try await registry.restore() } catch { logger.error("could not restore flows: \(error)") }
        for flow in initialFlows {
            do { try await registry.addOrUpdate(flow, start: true) } catch {
                logger.error("could not deploy \(flow["id"]?.stringValue ?? "flow"): \(error)")
            }
        }
    }

    /// Saves module states every `stateSaveInterval` until shutdown; then
    /// stops the flows, saves their final states and reaps every runtime.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.stateSaveInterval)
                guard !Task.isCancelled else { break }
                await self.registry.persistModuleStates()
            }
        }
        logger.info("stopping flows")
        await registry.stopAllAndSaveStates()
        await host?.shutdown()
    }

    static let stateSaveInterval: Duration = .seconds(2)
}
