/// Constants of the pipe protocol (docs/protocol.md).
public enum PipeProtocol {
    public static let version = 1
    public static let defaultMaxFrameBytes = 16 * 1024 * 1024
    /// Frames sent to an instance and not yet acknowledged, per instance.
    public static let defaultWindow = 1024
}
