#if canImport(Glibc)
import Glibc
#endif
import FlowModel
import NIOCore
import NIOPosix
import PipeBridge
import RunnerProtocol

/// One process generation's connection to its runtime: the fifo pair, the
/// NIO channel over it (frames read by `InstanceChannelHandler` on the link's
/// loop), and the host's side of the handshake (docs/protocol.md,
/// "Handshake": the runtime says `hello`, the host answers `configure`).
///
/// Made before the process is spawned (the process opens the fifos by the
/// paths in `arguments`); `close()` closes the channel and removes the fifos
/// once the process has exited. Writes wait for the channel (it opens right
/// after the fifos do): no polling.
struct RuntimeConnection: Sendable {
    let fifos: FifoPair
    private let channel: EventLoopFuture<any Channel>
    /// The descriptor the channel reads (owned by the channel; only asked how much waits in it).
    private let readDescriptor: CInt

    /// Makes the fifo pair in `directory` and opens the channel over it on `link`'s loop; what the
    /// runtime says that is not data or acks goes to `events`.
    static func open(in directory: String, name: String, link: InstanceLink, maxFrameBytes: Int,
                     events: @escaping @Sendable (InstanceEvent) -> Void) throws -> RuntimeConnection {
        let fifos = try FifoPair.create(in: directory, name: name)
        do {
            let fds = try fifos.open()
            let channel = NIOPipeBootstrap(group: link.loop)
                .channelOption(ChannelOptions.maxMessagesPerRead, value: 4)
                .channelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 65536, maximum: 1 << 20))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(InstanceChannelHandler(link: link, maxFrameBytes: maxFrameBytes, events: events))
                    }
                }
                .takingOwnershipOfDescriptors(input: fds.fromRuntime, output: fds.toRuntime)
            channel.whenFailure { error in events(.protocolError("could not open the fifos: \(error)")) }
            return RuntimeConnection(fifos: fifos, channel: channel, readDescriptor: fds.fromRuntime)
        } catch {
            fifos.remove()
            throw error
        }
    }

    /// What the runtime is started with to find its fifos.
    var arguments: [String] { ["--in", fifos.toRuntimePath, "--out", fifos.fromRuntimePath] }

    /// The channel, once open.
    func opened() async throws -> any Channel { try await channel.get() }

    /// Checks the runtime's `hello`: nil when it speaks this host's protocol, else why not.
    static func problem(with hello: RuntimeMessage.Hello) -> String? {
        hello.protocol == PipeProtocol.version ? nil
            : "runtime \(hello.runtime) speaks protocol \(hello.protocol), host speaks \(PipeProtocol.version): update runtimes/ with the host"
    }

    /// Writes one host→runtime frame (waits for the channel to be open).
    func send(_ message: HostMessage) async throws {
        let channel = try await opened()
        var buffer = channel.allocator.buffer(capacity: 4096)
        try FrameEncoder.write(message, into: &buffer)
        try await channel.writeAndFlush(buffer)
    }

    /// Once what the process wrote before it exited has been read and handled (its fifo is empty:
    /// the fifos are open read-write, so no end of file comes), or at `limit` (the link may be
    /// blocked by back pressure). On `loop`, the channel's.
    func whenRead(on loop: any EventLoop, limit: TimeAmount = .milliseconds(250)) -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        let deadline = NIODeadline.now() + limit, fd = readDescriptor
        @Sendable func check() {
            var unread: CInt = 0
            if ioctl(fd, UInt(FIONREAD), &unread) != 0 || unread == 0 || .now() >= deadline {
                promise.succeed()
            } else {
                loop.scheduleTask(in: .milliseconds(1)) { check() }
            }
        }
        // After the reads the loop has pending now.
        loop.execute { check() }
        return promise.futureResult
    }

    /// Closes the channel and removes the fifos (the process has exited).
    func close() {
        channel.whenSuccess { $0.close(promise: nil) }
        fifos.remove()
    }
}
