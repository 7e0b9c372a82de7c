import FlowModel
import Foundation
import FuzzSupport
import Logging
import NIOConcurrencyHelpers
import PipeBridge
import RunnerProtocol
import Testing
@testable import RunnerHost

/// Environments built by the real installers (python3 -m venv + pip or uv,
/// npm) from local packages the tests make: no package index needed.
@Suite(.serialized) struct EnvironmentStoreTests {
    static let runtimes: [RuntimeKind: RuntimeInfo] = Dictionary(uniqueKeysWithValues:
        RuntimeLocator(runtimesDirectory: RunnerHarness.runtimesDirectory).locate().map { ($0.id, $0) })

    final class Progress: Sendable {
        let events = NIOLockedValueBox<[EnvironmentProgress]>([])
        var all: [EnvironmentProgress] { events.withLockedValue { $0 } }
        func phases(_ phase: EnvironmentProgress.Phase) -> [EnvironmentProgress] { all.filter { $0.phase == phase } }
    }

    func makeStore(root: String, timeLimit: Duration = .seconds(300)) -> (EnvironmentStore, Progress) {
        let progress = Progress()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let store = EnvironmentStore(root: root, searchPath: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                                     timeLimit: timeLimit, logger: logger, progress: { p in progress.events.withLockedValue { $0.append(p) } })
        return (store, progress)
    }

    var python: RuntimeInfo { Self.runtimes[.python3]! }

    func importVersion(_ module: String, in root: String, _ id: EnvironmentID) throws -> String {
        let launch = EnvironmentLayout(root: root).launch(for: InstanceKey(runtime: .python3, environment: id))
        return try LocalPackages.run(launch.executable!, ["-c", "import \(module); print(\(module).VERSION)"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func pythonEnvironment_fromALocalWheel_isBuiltOnce_andImportable() async throws {
        let dir = LocalPackages.temporaryDirectory("env-py")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wheel = try LocalPackages.wheel("pfprobe", version: "1.0.0", in: dir)
        let (store, progress) = makeStore(root: dir + "/environments")
        let set = DependencySet(runtime: .python3, dependencies: [wheel])

        #expect(try await store.ensure(set, runtime: python) == true)
        #expect(try importVersion("pfprobe", in: dir + "/environments", set.id) == "1.0.0")
        #expect(progress.phases(.started).count == 1 && progress.phases(.ok).count == 1)
        #expect(!progress.phases(.line).isEmpty)  // the installer's lines, as they came
        // An existing environment costs nothing: no build, no event.
        #expect(try await store.ensure(set, runtime: python) == false)
        #expect(progress.phases(.started).count == 1)
        // A restarted runner (a new store on the same directory) keeps it.
        let (again, _) = makeStore(root: dir + "/environments")
        #expect(try await again.ensure(set, runtime: python) == false)
        let listed = await again.list()
        #expect(listed.map(\.manifest.id) == [set.id])
        #expect(listed[0].manifest.size > 0 && listed[0].ready)
    }

    @Test func twoConcurrentRequests_forOneNewSet_buildItOnce() async throws {
        let dir = LocalPackages.temporaryDirectory("env-once")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wheel = try LocalPackages.wheel("pfonce", version: "1.0.0", in: dir)
        let (store, progress) = makeStore(root: dir + "/environments")
        let set = DependencySet(runtime: .python3, dependencies: [wheel])
        let python = self.python
        async let first = store.ensure(set, runtime: python)
        async let second = store.ensure(set, runtime: python)
        let built = try await [first, second]
        #expect(built.filter { $0 }.count == 1)
        #expect(progress.phases(.started).count == 1)
        #expect(try importVersion("pfonce", in: dir + "/environments", set.id) == "1.0.0")
    }

    @Test func failedInstall_leavesNoEnvironment_andQuotesTheInstaller() async throws {
        let dir = LocalPackages.temporaryDirectory("env-fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (store, progress) = makeStore(root: dir + "/environments")
        let set = DependencySet(runtime: .python3, dependencies: ["/nonexistent/polyflow-missing-1.0-py3-none-any.whl"])
        await #expect {
            try await store.ensure(set, runtime: python)
        } throws: { error in
            guard case .installFailed(let id, _, _, let tail)? = error as? EnvironmentError else { return false }
            return id == set.id && tail.joined().contains("polyflow-missing")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/environments/\(set.id)"))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: dir + "/environments/.building")) ?? []).isEmpty)
        #expect(progress.phases(.failed).count == 1)
        #expect(await store.list().isEmpty)
    }

    @Test func installPastItsTimeLimit_isKilled_andLeavesNothing() async throws {
        let dir = LocalPackages.temporaryDirectory("env-slow")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wheel = try LocalPackages.wheel("pfslow", version: "1.0.0", in: dir)
        let (store, _) = makeStore(root: dir + "/environments", timeLimit: .milliseconds(1))
        let set = DependencySet(runtime: .python3, dependencies: [wheel])
        await #expect {
            try await store.ensure(set, runtime: python)
        } throws: { error in
            guard case .timedOut? = error as? EnvironmentError else { return false }
            return true
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/environments/\(set.id)"))
        // With time enough, the same set builds.
        let (patient, _) = makeStore(root: dir + "/environments")
        #expect(try await patient.ensure(set, runtime: python) == true)
    }

    @Test func brokenEnvironment_isDetected_andRebuilt() async throws {
        let dir = LocalPackages.temporaryDirectory("env-broken")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wheel = try LocalPackages.wheel("pfbroken", version: "1.0.0", in: dir)
        let (store, _) = makeStore(root: dir + "/environments")
        let set = DependencySet(runtime: .python3, dependencies: [wheel])
        try await store.ensure(set, runtime: python)
        let envDir = dir + "/environments/\(set.id)"
        // Half an environment, as a crash in the middle of a copy would leave it: no interpreter.
        try FileManager.default.removeItem(atPath: envDir + "/venv/bin")
        #expect(await store.isReady(set.id, runtime: python) == false)
        #expect(try await store.ensure(set, runtime: python) == true)
        #expect(try importVersion("pfbroken", in: dir + "/environments", set.id) == "1.0.0")
        // No ready marker: not used either.
        try FileManager.default.removeItem(atPath: envDir + "/ready")
        #expect(await store.isReady(set.id, runtime: python) == false)
        #expect(try await store.ensure(set, runtime: python) == true)
    }

    /// The one test that needs the network: a small real package from PyPI.
    @Test func pythonEnvironment_fromPyPI_isBuilt() async throws {
        let dir = LocalPackages.temporaryDirectory("env-pypi")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (store, _) = makeStore(root: dir + "/environments")
        let set = DependencySet(runtime: .python3, dependencies: ["six==1.16.0"])
        do {
            try await store.ensure(set, runtime: python)
        } catch {
            Issue.record("installing six==1.16.0 from PyPI failed: is https://pypi.org reachable from this machine (proxy, offline CI)? The installer said: \(error)")
            return
        }
        let launch = EnvironmentLayout(root: dir + "/environments").launch(for: InstanceKey(runtime: .python3, environment: set.id))
        let version = try LocalPackages.run(launch.executable!, ["-c", "import six; print(six.__version__)"])
        #expect(version.trimmingCharacters(in: .whitespacesAndNewlines) == "1.16.0")
    }

    @Test func nodeEnvironment_fromALocalDirectoryAndTarball_isRequirable() async throws {
        let dir = LocalPackages.temporaryDirectory("env-node")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pkgDir = try LocalPackages.npmDirectory("pf-left", version: "1.0.0", in: dir)
        let tarball = try LocalPackages.npmTarball("pf-right", version: "2.0.0", in: dir)
        let (store, _) = makeStore(root: dir + "/environments")
        let set = DependencySet(runtime: .node, dependencies: [pkgDir, tarball])
        #expect(try await store.ensure(set, runtime: Self.runtimes[.node]!) == true)
        // The package directory may go away: it was copied, not linked.
        try FileManager.default.removeItem(atPath: pkgDir)
        let launch = EnvironmentLayout(root: dir + "/environments").launch(for: InstanceKey(runtime: .node, environment: set.id))
        let out = try LocalPackages.run("node", ["-e", "console.log(require('pf-left').version + ' ' + require('pf-right').version)"],
                                        environment: launch.variables)
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "1.0.0 2.0.0")
    }
}
