import FlowModel

/// The runner protocol (docs/runner-protocol.md): one WebSocket per runner
/// at `/runners`. Text messages are JSON control messages (`RunnerMessage`
/// from the runner, `DispatcherMessage` from the dispatcher); binary messages
/// are data batches (`DataBatch`), whose payloads nobody on the way decodes.
public enum RunnerProtocol {
    /// The version in `hello` and `welcome`; a runner speaking another one is refused.
    public static let version = 1
    /// The WebSocket path on the dispatcher.
    public static let path = "/runners"

    /// Both sides ping this often (a `welcome` may say otherwise).
    public static let defaultHeartbeatInterval: Duration = .seconds(1)
    /// A runner not heard from for this long is suspect: no new placements go to it.
    public static let defaultSuspectAfter: Duration = .seconds(2)
    /// A runner not heard from for this long is lost: its modules are placed again.
    public static let defaultLostAfter: Duration = .seconds(3)
    /// A connection that has not sent `hello` within this time is closed (generous: a
    /// runner on a loaded machine may take seconds to be scheduled).
    public static let helloTimeout: Duration = .seconds(10)

    /// Unacknowledged data frames per (sender runner, receiver runner) stream.
    public static let defaultWindow = 1024
    /// The largest payload of one data frame (as the pipe protocol's frame limit).
    public static let defaultMaxFrameBytes = 16 * 1024 * 1024
    /// The largest WebSocket message either side accepts: one largest frame plus headers.
    public static let defaultMaxMessageBytes = defaultMaxFrameBytes + 64 * 1024
    /// A writer closes a data batch once it holds this many bytes (a single larger frame is sent alone).
    public static let batchTargetBytes = 64 * 1024
    /// The largest `hello` the dispatcher reads before a runner is welcomed.
    public static let maxHelloBytes = 64 * 1024
}
