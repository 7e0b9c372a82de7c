import Foundation

/// A bounded fuzz run: the seeds kept in `Tests/Fixtures/fuzz/<name>.json`
/// (cases that once found a problem) always run first, then fresh seeds
/// derived from a base seed until the time budget or the case count is used
/// up. The base seed is fixed unless `POLYFLOW_FUZZ_SEED` sets another,
/// `POLYFLOW_FUZZ_SECONDS` stretches the budget for a longer local run, and
/// `POLYFLOW_FUZZ_REPLAY=SEED` runs that one case only.
public struct FuzzRun: Sendable {
    public struct Failure: Sendable, CustomStringConvertible {
        public var seed: UInt64
        public var problem: String
        public var description: String {
            "seed \(seed): \(problem) (replay it alone with POLYFLOW_FUZZ_REPLAY=\(seed); keep it in the fixture's \"seeds\")"
        }
    }

    public var name: String
    public var budget: Duration
    public var maxCases: Int

    public init(name: String, budget: Duration = .seconds(3), maxCases: Int = 100_000) {
        self.name = name
        let env = ProcessInfo.processInfo.environment
        if let s = env["POLYFLOW_FUZZ_SECONDS"], let seconds = Double(s) {
            self.budget = .milliseconds(Int(seconds * 1000))
        } else {
            self.budget = budget
        }
        self.maxCases = maxCases
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

    /// The kept seeds, then `fresh` derived ones: for a caller that runs its
    /// cases itself (an async check), within `budget`.
    public func seeds(fresh: Int) -> [UInt64] {
        if let replay = Self.replay { return [replay] }
        var derive = SeededGenerator(seed: baseSeed)
        return keptSeeds + (0..<fresh).map { _ in derive.next() }
    }

    /// Runs `check` on every kept seed, then on fresh ones; `check` returns a
    /// problem or nil. Returns the failures (at most 10) and how many cases ran.
    /// Yields between cases, so that a CPU-bound fuzz loop does not hold a
    /// thread of the test process's cooperative pool for its whole budget.
    public func run(_ check: (UInt64) -> String?) async -> (failures: [Failure], cases: Int) {
        var failures: [Failure] = []
        var cases = 0
        let deadline = ContinuousClock.now + budget
        let kept = Self.replay == nil ? keptSeeds.count : 1
        for seed in seeds(fresh: maxCases) {
            if cases >= kept, ContinuousClock.now >= deadline || failures.count >= 10 { break }
            cases += 1
            if let problem = check(seed) { failures.append(Failure(seed: seed, problem: problem)) }
            await Task.yield()
        }
        return (failures, cases)
    }
}
