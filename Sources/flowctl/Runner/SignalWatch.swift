import Foundation
import NIOConcurrencyHelpers

/// Waits for SIGINT or SIGTERM.
final class SignalWatch: @unchecked Sendable {
    private let sources: NIOLockedValueBox<[any DispatchSourceSignal]> = .init([])
    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let once = NIOLockedValueBox(false)
            var made: [any DispatchSourceSignal] = []
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                s.setEventHandler {
                    let first = once.withLockedValue { v -> Bool in defer { v = true }; return !v }
                    if first { c.resume() }
                }
                s.resume()
                made.append(s)
            }
            sources.withLockedValue { $0 = made }
        }
    }
}
