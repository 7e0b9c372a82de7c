// swift-tools-version:6.0
import PackageDescription

/// The message path (PipeBridge, RunnerHost) touches class state per frame:
/// in release builds the dynamic exclusivity checks of those accesses cost
/// ~18% of the host's routing time (perf, docs/performance.md). The state is
/// confined to one event loop (asserted where it is entered: `assertInEventLoop`
/// in `InstanceLink`, `DataPath`, `FlowDebugger`, `PeerRouter`, checked in debug
/// builds, where the whole test suite runs), so the checks find nothing; debug
/// builds keep them.
let hotPathSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "polyflow",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "flowctl", targets: ["flowctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .target(name: "FlowModel"),
        // posix_spawn with closefrom, and pidfd_open: what Swift cannot call directly.
        .target(name: "CSpawn"),
        .target(name: "PipeBridge", dependencies: [
            "FlowModel", "CSpawn",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: hotPathSettings),
        // The runner protocol, every runner's and the dispatcher's: messages, commands, replies,
        // events, data batches, the link (docs/runner-protocol.md). No process, fifo or socket in it.
        .target(name: "RunnerProtocol", dependencies: [
            "FlowModel",
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: hotPathSettings),
        // A NATS client on SwiftNIO (docs/nats.md): no Polyflow types; it could be its own package.
        .target(name: "NATSClient", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "RunnerHost", dependencies: [
            "FlowModel", "PipeBridge", "RunnerProtocol",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: hotPathSettings),
        .target(name: "Dispatcher", dependencies: [
            "FlowModel", "PipeBridge", "RunnerProtocol", "RunnerHost", "CSpawn",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "flowctl", dependencies: [
            "FlowModel", "PipeBridge", "RunnerProtocol", "RunnerHost", "Dispatcher",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Seeded generators and the bounded fuzz loop shared by the fuzz tests; tiny local
        // packages (a wheel, an npm directory and tarball) for the dependency tests.
        .target(name: "FuzzSupport", dependencies: ["FlowModel"], path: "Tests/FuzzSupport"),
        .testTarget(name: "FlowModelTests", dependencies: ["FlowModel", "FuzzSupport"]),
        .testTarget(name: "PipeBridgeTests", dependencies: ["PipeBridge", "FlowModel", "FuzzSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "RunnerHostTests", dependencies: [
            "RunnerHost", "RunnerProtocol", "PipeBridge", "FlowModel", "FuzzSupport",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "DispatcherTests", dependencies: [
            "Dispatcher", "FlowModel", "RunnerProtocol", "RunnerHost", "FuzzSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "NATSClientTests", dependencies: [
            "NATSClient",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "EndToEndTests", dependencies: [
            "FlowModel", "PipeBridge", "FuzzSupport",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
        ]),
    ]
)
