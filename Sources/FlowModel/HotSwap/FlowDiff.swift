/// What changes between two versions of a flow, module by module, as a hot
/// swap applies it (docs/hot-swap.md).
public struct FlowDiff: Sendable, Equatable {
    /// Same runtime, code, config and ports: not touched at all.
    public var unchanged: [ModuleID] = []
    /// Same runtime; new code, config or ports: replaced between two messages, state kept.
    public var changed: [ModuleID] = []
    /// Another runtime, or another dependency environment: moves to that instance with its state as JSON.
    public var moved: [ModuleID] = []
    public var added: [ModuleID] = []
    public var removed: [ModuleID] = []
    /// Whether any connection was added or removed.
    public var connectionsChanged = false

    public init(from old: FlowDocument, to new: FlowDocument) {
        for m in new.modules {
            guard let before = old.module(m.id) else { added.append(m.id); continue }
            if before.instanceKey != m.instanceKey { moved.append(m.id) }
            else if before.code != m.code || before.config != m.config || before.inputs != m.inputs || before.outputs != m.outputs {
                changed.append(m.id)
            } else { unchanged.append(m.id) }
        }
        removed = old.modules.map(\.id).filter { new.module($0) == nil }
        connectionsChanged = Set(old.connections) != Set(new.connections)
    }

    /// Nothing to do but perhaps the description.
    public var isEmpty: Bool { changed.isEmpty && moved.isEmpty && added.isEmpty && removed.isEmpty && !connectionsChanged }

    /// Modules the runtime instance `key` must load in a swap: changed
    /// ones there, and those that arrive there (added or moved in).
    public func toLoad(in key: InstanceKey, new: FlowDocument) -> [ModuleID] {
        new.modules.filter { $0.instanceKey == key && (changed.contains($0.id) || moved.contains($0.id) || added.contains($0.id)) }.map(\.id)
    }

    /// Modules the runtime instance `key` must drop: removed ones, and those that move away.
    public func toDrop(in key: InstanceKey, old: FlowDocument) -> [ModuleID] {
        old.modules.filter { $0.instanceKey == key && (removed.contains($0.id) || moved.contains($0.id)) }.map(\.id)
    }
}

/// A short, stable fingerprint of a module's code (FNV-1a, 64 bits, hex), shown by `getFlow`.
public enum CodeHash {
    public static func of(_ code: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in code.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
