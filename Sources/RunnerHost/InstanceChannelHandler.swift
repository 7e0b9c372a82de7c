import FlowModel
import Foundation
import NIOCore
import PipeBridge
#if canImport(Glibc)
import Glibc
import RunnerProtocol
#endif

/// What a runtime instance's channel and process tell its supervisor, in order.
enum InstanceEvent: Sendable {
    case control(RuntimeMessage)
    case protocolError(String)
    case output(ProcessStream, String)
    case exited(ProcessExit)
    case readyTimeout
    /// Messages were in flight and the process sent nothing for this long (past its time limit).
    case silent(TimeAmount)
    /// A stop's grace is over: the process is killed if it is still there.
    case graceOver
    /// The back-off after a failure is over: start again (unless stopped meanwhile).
    case retry
}

/// Reads frames from one runtime: data and acks go straight to the link (on
/// the event loop, no hop), control frames to the supervisor.
///
/// The frames of one read are split and routed in one loop over the read
/// buffer (no pipeline event per frame); payloads stay slices of it. Only
/// the bytes of a frame cut by the end of a read are copied, into `partial`,
/// until its newline arrives.
///
/// Confined to its channel's event loop, which is the link's (NIO calls a handler only there;
/// each entry asserts it in debug builds, as do the link's and its writer's entries).
final class InstanceChannelHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let link: InstanceLink
    private let events: @Sendable (InstanceEvent) -> Void
    private var decoder: FrameDecoder
    private var partial: ByteBuffer?
    private var broken = false
    /// The link's process count when this channel was made: acks and commits
    /// read after the link detached this process are not taken.
    private let life: Int

    /// Must be made on the link's loop.
    init(link: InstanceLink, maxFrameBytes: Int, events: @escaping @Sendable (InstanceEvent) -> Void) {
        self.link = link
        self.life = link.writer.life
        self.events = events
        self.decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.eventLoop.assertInEventLoop()
        guard !broken else { return }
        link.writer.heard()
        var buffer = unwrapInboundIn(data)
        var decoder = self.decoder
        defer { self.decoder = decoder }
        do {
            if var head = partial {
                // Finish the cut frame with the bytes up to the first newline; the rest is read in place.
                let newline = buffer.withUnsafeReadableBytes { bytes in
                    bytes.baseAddress.flatMap { base in memchr(base, 0x0A, bytes.count).map { base.distance(to: UnsafeRawPointer($0)) } }
                }
                var piece = buffer.readSlice(length: newline.map { $0 + 1 } ?? buffer.readableBytes)!
                head.writeBuffer(&piece)
                partial = nil
                if let frame = try decoder.next(from: &head) {
                    handle(frame)
                } else {
                    partial = head
                    return
                }
            }
            while !broken, let frame = try decoder.next(from: &buffer) { handle(frame) }
        } catch {
            fail("\(error)")
            return
        }
        if buffer.readableBytes > 0 {
            // A copy, so that the whole read buffer is not kept (or copied on write) for a few bytes.
            var head = context.channel.allocator.buffer(capacity: max(4096, buffer.readableBytes * 2))
            head.writeBuffer(&buffer)
            partial = head
        }
    }

    @inline(__always)
    private func handle(_ frame: InboundFrame) {
        switch frame {
        case .data(let route, let payload):
            do { try link.route(route, payload: payload) } catch { fail("\(error)") }
        case .ack(let count):
            link.ack(count, life: life)
        case .control(let bytes):
            if let entries = CommitScanner.entries(bytes) {
                link.writer.stage(entries, life: life)
                return
            }
            do {
                let message = try ControlFrame.decode(bytes)
                // A commit is kept on the loop, with the acks, so that what the link
                // delivers again after a crash and what it committed always agree.
                if case .commit(let modules) = message { link.writer.stage(decoded: modules, life: life) } else { events(.control(message)) }
            } catch { fail("\(error)") }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.eventLoop.assertInEventLoop()
        link.dataPath.flushDirty()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.eventLoop.assertInEventLoop()
        fail("\(error)")
    }

    private func fail(_ reason: String) {
        guard !broken else { return }
        broken = true
        events(.protocolError(reason))
    }
}
