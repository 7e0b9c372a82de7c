import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A bounded fuzz run: the seeds kept in `Tests/Fixtures/fuzz/<name>.json`
/// (cases that once found a problem) always run first, then a fixed number
/// of fresh seeds derived from a base seed, so that every run of the suite
/// checks the same cases and takes a few seconds. `POLYFLOW_FUZZ_SEED` picks
/// another base seed and `POLYFLOW_FUZZ_CASES` another count, for a longer
/// local run; `POLYFLOW_FUZZ_REPLAY=SEED` runs that one case only.
public struct FuzzRun: Sendable {
    public struct Failure: Sendable, CustomStringConvertible {
        public var seed: UInt64
        public var problem: String
        public var description: String {
            "seed \(seed): \(problem) (replay it alone with POLYFLOW_FUZZ_REPLAY=\(seed); keep it in the fixture's \"seeds\")"
        }
    }

    public var name: String
    /// Fresh cases after the kept ones.
    public var cases: Int

    public init(name: String, cases: Int) {
        self.name = name
        self.cases = ProcessInfo.processInfo.environment["POLYFLOW_FUZZ_CASES"].flatMap(Int.init) ?? cases
    }

    /// Where the fixture of this run lives.
    public var fixturePath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/fuzz/\(name).json").path
    }

    /// The kept seeds: `{"seeds": [{"seed": "N", "found": "what it found"}]}`
    /// (a string: seeds use all 64 bits, past what JSON numbers keep exactly).
    public var keptSeeds: [UInt64] {
        guard let data = FileManager.default.contents(atPath: fixturePath),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let seeds = json["seeds"] as? [[String: Any]] else { return [] }
        return seeds.compactMap { ($0["seed"] as? String).flatMap(UInt64.init) }
    }

    public static var replay: UInt64? { ProcessInfo.processInfo.environment["POLYFLOW_FUZZ_REPLAY"].flatMap(UInt64.init) }

    public var baseSeed: UInt64 {
        ProcessInfo.processInfo.environment["POLYFLOW_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5EED_0F_F10F
    }

    /// The kept seeds, then the fresh ones (or only the replayed one).
    public var seeds: [UInt64] {
        if let replay = Self.replay { return [replay] }
        var derive = SeededGenerator(seed: baseSeed)
        return keptSeeds + (0..<cases).map { _ in derive.next() }
    }

    /// Runs `check` on every seed on a thread of its own, off the test
    /// process's cooperative pool: CPU-bound cases neither hold a pool thread
    /// for seconds nor wait behind other tests for one. `check` returns a
    /// problem or nil; returns the failures (the first 10).
    public func run(_ check: @escaping @Sendable (UInt64) -> String?) async -> [Failure] {
        let seeds = self.seeds
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                var failures: [Failure] = []
                for seed in seeds where failures.count < 10 {
                    if let problem = check(seed) { failures.append(Failure(seed: seed, problem: problem)) }
                }
                continuation.resume(returning: failures)
            }
            thread.stackSize = 16 << 20  // deep JSON nesting in mutated documents
            thread.start()
        }
    }

    /// CPU time of the calling thread: a bound on work that a loaded machine does not stretch.
    public static func threadCPUTime() -> Duration {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
    }
}
