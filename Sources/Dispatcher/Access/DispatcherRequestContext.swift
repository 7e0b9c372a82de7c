import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of the dispatcher's routes: Hummingbird's WebSocket
/// context, plus the connection's channel, so that a `/runners` session can
/// lift the connection's `HelloBudgetHandler` once it welcomes the runner.
struct DispatcherRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}
