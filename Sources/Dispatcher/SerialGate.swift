/// Lets one async operation through at a time, in arrival order (an actor
/// alone would interleave them at every `await`).
actor SerialGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if busy { await withCheckedContinuation { waiters.append($0) } } else { busy = true }
        defer {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        }
        return try await body()
    }

    func runQuietly(_ body: @Sendable () async -> Void) async {
        _ = try? await run { await body() }
    }
}
