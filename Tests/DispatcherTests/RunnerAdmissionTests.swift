import FlowModel
import RunnerHost
import RunnerProtocol
import Testing
@testable import Dispatcher

/// Who may join: token, protocol version, hello form, duplicate names; and
/// what a returning runner must drop.
@Suite struct RunnerAdmissionTests {
    func hello(_ name: String = "gpu-1", instance: String = "i1", protocol p: Int = 1, token: String? = nil,
               tags: [String] = ["gpu"], modules: [ModuleLease] = []) -> RunnerHello {
        RunnerHello(protocol: p, name: RunnerID(name), instance: instance,
                    runtimes: [.init(id: .python3, name: "CPython", version: "3.11.7")], tags: tags, modules: modules, token: token)
    }

    func decide(_ h: RunnerHello, token: String? = nil, upgrade: Bool = false, holder: RunnerAdmission.Holder? = nil,
                placement: [FlowModuleID: ModulePlacement] = [:]) -> RunnerAdmission.Decision {
        RunnerAdmission.decide(h, token: token, authenticatedAtUpgrade: upgrade, holder: holder, placement: placement)
    }

    func refusal(_ d: RunnerAdmission.Decision) -> RunnerRefusal.Code? {
        if case .refuse(let r) = d { return r.code }
        return nil
    }

    @Test func aFreshRunnerIsWelcomed() {
        #expect(decide(hello()) == .welcome(drop: [], replacing: false))
    }

    @Test func theTokenIsCheckedFirst() {
        #expect(refusal(decide(hello(protocol: 2), token: "s3cret")) == .badToken, "no other detail for a runner without the token")
        #expect(refusal(decide(hello(token: "nope"), token: "s3cret")) == .badToken)
        #expect(decide(hello(token: "s3cret"), token: "s3cret") == .welcome(drop: [], replacing: false))
        #expect(decide(hello(), token: "s3cret", upgrade: true) == .welcome(drop: [], replacing: false))
        if case .refuse(let r) = decide(hello(), token: "s3cret") { #expect(r.message.contains("--token")) }
    }

    @Test func anotherProtocolVersionIsRefusedWithBothVersions() {
        guard case .refuse(let r) = decide(hello(protocol: 2)) else { Issue.record("not refused"); return }
        #expect(r.code == .protocolVersion)
        #expect(r.message.contains("protocol 1, the runner 2"))
    }

    @Test func aMalformedHelloIsRefused() {
        #expect(refusal(decide(hello("gpu 1"))) == .badHello)
        #expect(refusal(decide(hello(tags: ["a,b"]))) == .badHello)
        #expect(refusal(decide(hello(instance: ""))) == .badHello)
        var none = hello()
        none.runtimes = []
        #expect(refusal(decide(none)) == .badHello)
    }

    @Test func theDispatchersOwnNameIsRefused() {
        // "dispatcher" sends injected messages (`InjectSource`): no runner may look like it.
        #expect(refusal(decide(hello("dispatcher"))) == .badHello)
    }

    @Test func aSecondRunnerWithALiveNameIsRefused() {
        for state in [RunnerState.joining, .live, .suspect] {
            guard case .refuse(let r) = decide(hello(instance: "other"), holder: .init(instance: "i1", state: state)) else {
                Issue.record("\(state): not refused"); continue
            }
            #expect(r.code == .duplicateName)
            #expect(r.message.contains("\"gpu-1\" is already connected"))
        }
    }

    @Test func anotherInstanceTakesTheNameOfARunnerWhoseConnectionEnded() {
        // A closed browser tab has a grace to come back; a new tab (another instance) does not wait for it.
        let holder = RunnerAdmission.Holder(instance: "i1", state: .suspect, session: 7, connectionEnded: true)
        #expect(decide(hello(instance: "i2"), holder: holder) == .takeOver(drop: [], endedSession: 7))
        // The same instance reconnecting within the grace replaces its connection and keeps its modules.
        #expect(decide(hello(instance: "i1"), holder: holder) == .welcome(drop: [], replacing: true))
        // Without a token, nothing is taken over.
        #expect(refusal(decide(hello(instance: "i2"), token: "s3cret", holder: holder)) == .badToken)
    }

    @Test func theSameRunnerReconnectingReplacesItsOldConnectionAndKeepsItsModules() {
        let lease = ModuleLease(flow: FlowID("orders"), module: ModuleID("train"), gen: 2)
        let placement: [FlowModuleID: ModulePlacement] = [FlowModuleID(flow: FlowID("orders"), module: ModuleID("train")): .placed(RunnerID("gpu-1"), gen: 2)]
        #expect(decide(hello(modules: [lease]), holder: .init(instance: "i1", state: .suspect), placement: placement)
                == .welcome(drop: [], replacing: true))
    }

    @Test func aRunnerReturningAfterBeingLostDropsWhatMovedAndKeepsWhatDidNot() {
        let moved = ModuleLease(flow: FlowID("orders"), module: ModuleID("train"), gen: 2)
        let stayed = ModuleLease(flow: FlowID("orders"), module: ModuleID("score"), gen: 1)
        let removed = ModuleLease(flow: FlowID("gone"), module: ModuleID("x"), gen: 5)
        let placement: [FlowModuleID: ModulePlacement] = [
            FlowModuleID(flow: FlowID("orders"), module: ModuleID("train")): .placed(RunnerID("gpu-2"), gen: 3),
            FlowModuleID(flow: FlowID("orders"), module: ModuleID("score")): .placed(RunnerID("gpu-1"), gen: 1),
        ]
        // A new process (another instance) under the name of a lost runner: welcomed.
        let d = decide(hello(instance: "i2", modules: [moved, stayed, removed]), holder: .init(instance: "i1", state: .lost), placement: placement)
        #expect(d == .welcome(drop: [moved, removed], replacing: false))
    }
}
