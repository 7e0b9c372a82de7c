import NIOCore
import RunnerProtocol

/// Bounds what a `/runners` connection may send before its welcome
/// (docs/security.md, "Memory before the hello"). The WebSocket library's
/// frame limit is server-wide (64 MiB, for data batches once welcomed), so
/// an unauthenticated client could make the server buffer an unfinished
/// frame that large. This stage sits first in every connection's pipeline and
/// counts raw bytes once `RequestGuardHandler` has passed a `/runners`
/// upgrade; past `budget` it closes the connection. `RunnerSession` lifts it
/// once the runner is welcomed.
///
/// Confined to its channel's event loop, as every `ChannelHandler`.
final class HelloBudgetHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The hello's own bound plus room for frame headers and a few pings.
    static let budget = 64 * 1024 + 4 * 1024

    /// Bytes the client may still send; nil while not counting.
    private var remaining: Int?
    private var refused = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        if let left = remaining {
            let after = left - unwrapInboundIn(data).readableBytes
            remaining = after
            guard after >= 0 else {
                refused = true
                refuse(context: context)
                return
            }
        }
        context.fireChannelRead(data)
    }

    /// Says why in the runner protocol's own words (a `refused` text frame, then a close frame
    /// with 1008, policy violation), written raw beside the WebSocket stages, and closes.
    private func refuse(context: ChannelHandlerContext) {
        let refusal = RunnerRefusal(code: .badHello, message: "the connection sent more than \(Self.budget) bytes before its welcome: a hello is at most \(RunnerProtocol.maxHelloBytes) bytes")
        let text = DispatcherMessage.refused(refusal).encoded()
        var out = context.channel.allocator.buffer(capacity: text.count + 16)
        out.writeInteger(UInt8(0x81))  // FIN, text
        if text.count < 126 { out.writeInteger(UInt8(text.count)) } else { out.writeInteger(UInt8(126)); out.writeInteger(UInt16(text.count)) }
        out.writeBytes(text)
        out.writeBytes([0x88, 0x02, 0x03, 0xF0])  // FIN, close, 1008
        context.writeAndFlush(NIOAny(out), promise: nil)
        context.close(promise: nil)
    }

    /// Starts counting (the guard, on a `/runners` upgrade).
    func start() { remaining = Self.budget }

    /// The runner is welcomed: its frames are bounded by the protocol's limits from now on.
    static func lift(on channel: any Channel) {
        channel.eventLoop.execute {
            if let handler = try? channel.pipeline.syncOperations.handler(type: HelloBudgetHandler.self) {
                channel.pipeline.syncOperations.removeHandler(handler, promise: nil)
            }
        }
    }
}
