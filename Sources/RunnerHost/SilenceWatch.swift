import NIOCore
import RunnerProtocol

/// Notices a runtime process that says nothing while messages are in flight
/// (a handler that never returns), at no cost per message: the link calls
/// `heard()` once per read and `inFlightBegan()` when its first message goes
/// out; a repeated task on the loop compares the silence with the limit.
///
/// Confined to the runner's event loop, like the `InstanceLink` that owns it.
/// The repeated task holds the watch weakly and is cancelled by `disarm()`.
final class SilenceWatch {
    private let loop: any EventLoop
    private var lastHeard = NIODeadline.now()
    private var limit: TimeAmount?
    private var onSilence: (@Sendable (TimeAmount) -> Void)?
    private var check: RepeatedTask?
    private var told = false

    init(loop: any EventLoop) { self.loop = loop }

    /// The process sent something.
    @inline(__always)
    func heard() {
        lastHeard = .now()
        told = false
    }

    /// The first message is in flight: silence counts from now.
    @inline(__always)
    func inFlightBegan() { lastHeard = .now() }

    /// Starts watching a new process: `onSilence` is told once per silence
    /// that lasts `limit` while `quiet()` says messages are in flight and the
    /// host reads the process (back pressure is not silence).
    func arm(limit: TimeAmount?, onSilence: (@Sendable (TimeAmount) -> Void)?, quiet: @escaping () -> Bool?) {
        disarm()
        lastHeard = .now()
        told = false
        self.limit = limit
        self.onSilence = onSilence
        guard let limit, onSilence != nil else { return }
        // A tenth of the limit, between 10 ms and 1 s: a limit is overrun by at most that much.
        let interval = TimeAmount.nanoseconds(min(max(limit.nanoseconds / 10, 10_000_000), 1_000_000_000))
        check = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.tick(quiet())
        }
    }

    /// Stops watching (the process ended, or the flow is gone).
    func disarm() {
        check?.cancel()
        check = nil
        limit = nil
        onSilence = nil
    }

    /// How long the process has said nothing.
    var silence: TimeAmount { NIODeadline.now() - lastHeard }

    /// `inFlight`: true while messages are in flight and the process is read;
    /// false while nothing is in flight; nil while the host does not read it.
    private func tick(_ inFlight: Bool?) {
        guard let limit, !told else { return }
        guard let inFlight else { lastHeard = .now(); return }
        guard inFlight else { return }
        let silent = silence
        guard silent >= limit else { return }
        told = true
        onSilence?(silent)
    }
}
