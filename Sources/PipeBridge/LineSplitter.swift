import Foundation

/// Splits bytes into lines of at most `maxLine` bytes; called serially by the monitor thread
/// (not `Sendable`: it lives in `ProcessMonitor`, whose thread alone feeds it).
final class LineSplitter {
    private var pending = Data()
    private let emit: (String) -> Void
    private let maxLine: Int

    init(maxLine: Int = 64 * 1024, emit: @escaping (String) -> Void) {
        self.maxLine = maxLine
        self.emit = emit
    }

    func feed(_ data: Data) {
        pending.append(data)
        while let nl = pending.firstIndex(of: 0x0A) {
            emit(String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
            pending.removeSubrange(pending.startIndex...nl)
        }
        if pending.count > maxLine {
            emit(String(decoding: pending.prefix(maxLine), as: UTF8.self) + " …(line truncated)")
            pending.removeAll()
        }
    }

    func finish() {
        if !pending.isEmpty { emit(String(decoding: pending, as: UTF8.self)) }
        pending.removeAll()
    }
}
