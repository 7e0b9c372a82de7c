import FlowModel
import Foundation
import NIOCore
import PipeBridge

/// What a runtime instance's channel and process tell its supervisor, in order.
enum InstanceEvent: Sendable {
    case control(RuntimeMessage)
    case protocolError(String)
    case output(ProcessStream, String)
    case exited(ProcessExit)
    case readyTimeout
}

/// Reads frames from one runtime: data and acks go straight to the link (on
/// the event loop, no hop), control frames to the supervisor.
final class InstanceChannelHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = InboundFrame

    private let link: InstanceLink
    private let events: AsyncStream<InstanceEvent>.Continuation
    private var broken = false

    init(link: InstanceLink, events: AsyncStream<InstanceEvent>.Continuation) {
        self.link = link
        self.events = events
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !broken else { return }
        switch unwrapInboundIn(data) {
        case .data(let route, let payload):
            do { try link.route(route, payload: payload) } catch { fail(context, "\(error)") }
        case .ack(let count):
            link.ack(count)
        case .control(let bytes):
            do { events.yield(.control(try ControlFrame.decode(bytes))) } catch { fail(context, "\(error)") }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        link.dataPath.flushDirty()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, "\(error)")
    }

    private func fail(_ context: ChannelHandlerContext, _ reason: String) {
        guard !broken else { return }
        broken = true
        events.yield(.protocolError(reason))
    }
}
