import Foundation
import Testing
@testable import FlowModel

/// A module's `dependencies`: their form, their normalised set, its content
/// address, and the instances they split a flow into.
@Suite struct DependenciesTests {
    func flow(_ modules: String) throws -> FlowDocument {
        try FlowValidator().validate(Data("{\"id\": \"f\", \"modules\": [\(modules)], \"connections\": []}".utf8))
    }

    func issues(_ modules: String) -> [ValidationIssue] {
        do { _ = try flow(modules); return [] } catch { return (error as? FlowValidationError)?.issues ?? [] }
    }

    @Test func sha256_matchesTheStandardVectors() {
        #expect(SHA256.hex("abc".utf8) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("".utf8) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(SHA256.hex(long.utf8) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func equalSets_inAnyOrderOrSpelling_haveOneId() {
        let a = DependencySet(runtime: .python3, dependencies: ["Requests == 2.32.3", "six"])
        let b = DependencySet(runtime: .python3, dependencies: ["six", "requests==2.32.3", "six"])
        #expect(a == b)
        #expect(a.id == b.id)
        #expect(a.dependencies == ["requests==2.32.3", "six"])
        #expect(DependencySet.normalise("Zope_Interface.Foo>=1", runtime: .python3) == "zope-interface-foo>=1")
        #expect(DependencySet.normalise("pkg ; python_version  <  '3.12'", runtime: .python3) == "pkg; python_version < '3.12'")
    }

    @Test func otherVersions_orOtherRuntimes_haveOtherIds() {
        let one = DependencySet(runtime: .python3, dependencies: ["pkg==1.0"]).id
        let two = DependencySet(runtime: .python3, dependencies: ["pkg==2.0"]).id
        let node = DependencySet(runtime: .node, dependencies: ["pkg==1.0"]).id
        #expect(one != two && one != node)
        #expect(one.rawValue.hasPrefix("python3-") && node.rawValue.hasPrefix("node-"))
        #expect(EnvironmentID(parsing: one.rawValue) == one)
        #expect(EnvironmentID(parsing: "python3-../../etc") == nil)
        #expect(EnvironmentID(parsing: "browser-0123456789abcdef0123") == nil)
    }

    @Test func validEntries_pass() throws {
        let f = try flow("""
        {"id": "p", "runtime": "python3", "code": "x", "dependencies": ["requests==2.32.3", "attrs[tests]>=23,<24", "/tmp/pkg-1.0-py3-none-any.whl", "pkg @ https://example.org/pkg.whl", "tomli; python_version < '3.11'"]},
        {"id": "n", "runtime": "node", "code": "x", "dependencies": ["lodash@4.17.21", "@scope/name@^1.2.0", "/tmp/pkg.tgz", "left-pad"]}
        """)
        #expect(f.modules[0].dependencies.count == 5)
        #expect(f.modules[1].dependencies.count == 4)
    }

    @Test func badEntries_areReportedEachWithItsPath() {
        let found = issues("""
        {"id": "p", "runtime": "python3", "code": "x", "dependencies": ["ok==1", "--index-url=http://evil", "./relative", "", 5, "ok == 1", "bad$name"]},
        {"id": "b", "runtime": "browser", "code": "x", "dependencies": ["lodash"]},
        {"id": "n", "runtime": "node", "code": "x", "dependencies": "lodash"}
        """)
        let paths = found.map(\.path)
        #expect(paths.contains("modules[0].dependencies[1]"))
        #expect(paths.contains("modules[0].dependencies[2]"))
        #expect(paths.contains("modules[0].dependencies[3]"))
        #expect(paths.contains("modules[0].dependencies[4]"))
        #expect(paths.contains("modules[0].dependencies[5]"))  // the same as [0] once normalised
        #expect(paths.contains("modules[0].dependencies[6]"))
        #expect(paths.contains("modules[1].dependencies"))
        #expect(paths.contains("modules[2].dependencies"))
        #expect(!paths.contains("modules[0].dependencies[0]"))
        #expect(found.first { $0.path == "modules[0].dependencies[1]" }?.reason.contains("option") == true)
        #expect(found.first { $0.path == "modules[0].dependencies[5]" }?.reason.contains("twice") == true)
    }

    @Test func modulesWithDifferentSets_runInDifferentInstances() throws {
        let f = try flow("""
        {"id": "a", "runtime": "python3", "code": "x", "dependencies": ["pkg==1.0"]},
        {"id": "b", "runtime": "python3", "code": "x", "dependencies": ["pkg==2.0"]},
        {"id": "c", "runtime": "python3", "code": "x", "dependencies": ["PKG == 1.0"]},
        {"id": "d", "runtime": "python3", "code": "x"}
        """)
        let plan = FlowPlan(flow: f)
        #expect(plan.instances.count == 3)
        #expect(plan.instanceIndex(of: ModuleID("a")) == plan.instanceIndex(of: ModuleID("c")))
        #expect(plan.instanceIndex(of: ModuleID("a")) != plan.instanceIndex(of: ModuleID("b")))
        #expect(plan.instances.first { $0.key.environment == nil }?.modules.map(\.id) == [ModuleID("d")])
    }

    @Test func changingAModulesDependencies_movesIt() throws {
        let old = try flow("{\"id\": \"a\", \"runtime\": \"python3\", \"code\": \"x\", \"dependencies\": [\"pkg==1.0\"]}")
        let new = try flow("{\"id\": \"a\", \"runtime\": \"python3\", \"code\": \"x\", \"dependencies\": [\"pkg==2.0\"]}")
        let same = try flow("{\"id\": \"a\", \"runtime\": \"python3\", \"code\": \"x\", \"dependencies\": [\"PKG==1.0\"]}")
        #expect(FlowDiff(from: old, to: new).moved == [ModuleID("a")])
        #expect(FlowDiff(from: old, to: same).moved.isEmpty)
    }

    @Test func documentsWithoutDependencies_decode() throws {
        let json = #"{"id":"m","runtime":"node","inputs":["in"],"outputs":["out"],"config":{}}"#
        let m = try JSONDecoder().decode(ModuleSpec.self, from: Data(json.utf8))
        #expect(m.dependencies.isEmpty)
        #expect(m.instanceKey == InstanceKey(runtime: .node))
    }
}
