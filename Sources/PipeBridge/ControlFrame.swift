import FlowModel
import Foundation
import NIOCore

/// Decodes a control frame's JSON text into a `RuntimeMessage`. Control
/// frames are rare (handshake, logs, errors, stats), so a JSON decoder is
/// fine here; data frames never come through.
public enum ControlFrame {
    public static func decode(_ bytes: ByteBuffer) throws(FrameError) -> RuntimeMessage {
        do {
            return try JSONDecoder().decode(RuntimeMessage.self, from: Data(bytes.readableBytesView))
        } catch {
            throw FrameError(.badControl, "control frame is not a JSON object with a known shape and a \"t\" field: \(String(buffer: bytes).prefix(120))")
        }
    }
}
