import FlowModel
import NIOConcurrencyHelpers
import RunnerProtocol

/// One runtime instance on this runner, as one value: what it runs (its plan),
/// the flow's link to it (delivery stages and the writer), its supervisor
/// (process, state machine, back-off) and its status. Owned by the runner's
/// `InstanceTable`; a `FlowRun` refers to its instances by `InstanceRef`.
struct HostedInstance: Sendable {
    var plan: InstancePlan
    let link: InstanceLink
    let supervisor: RuntimeInstance
    var status: InstanceStatus

    var key: InstanceKey { plan.key }
    var writer: InstanceWriter { link.writer }
}

/// Names one hosted instance: the flow run that uses it and its key (runtime kind and
/// dependency environment). A load check runs beside the flow it checks, under its own run.
struct InstanceRef: Hashable, Sendable {
    let run: Int
    let key: InstanceKey
}

/// Every runtime instance this runner hosts (`HostedInstance`), owned here and
/// referenced by the flow runs that use them: the runner's hold, a new
/// connection and `status` reach every instance through it, whatever flow it
/// serves. One instance serves one flow today; shared instances (several flows
/// in one process) add users to an entry, not a second owner.
///
/// Thread-safe: a lock around a dictionary; nothing waits while holding it.
final class InstanceTable: Sendable {
    private let entries = NIOLockedValueBox<[InstanceRef: HostedInstance]>([:])
    private let runs = NIOLockedValueBox(0)

    /// A number for a new flow run.
    func newRun() -> Int { runs.withLockedValue { $0 += 1; return $0 } }

    func insert(_ instance: HostedInstance, run: Int) {
        entries.withLockedValue { $0[InstanceRef(run: run, key: instance.key)] = instance }
    }

    func remove(run: Int, key: InstanceKey) {
        _ = entries.withLockedValue { $0.removeValue(forKey: InstanceRef(run: run, key: key)) }
    }

    subscript(run: Int, key: InstanceKey) -> HostedInstance? {
        entries.withLockedValue { $0[InstanceRef(run: run, key: key)] }
    }

    /// Changes one instance's value in place; false when it is not (or no longer) here.
    @discardableResult
    func update(run: Int, key: InstanceKey, _ change: (inout HostedInstance) -> Void) -> Bool {
        entries.withLockedValue { all in
            guard var value = all[InstanceRef(run: run, key: key)] else { return false }
            change(&value)
            all[InstanceRef(run: run, key: key)] = value
            return true
        }
    }

    /// Every instance of one flow run, in the order of `keys`.
    func instances(run: Int, keys: [InstanceKey]) -> [HostedInstance] {
        entries.withLockedValue { all in keys.compactMap { all[InstanceRef(run: run, key: $0)] } }
    }

    /// Every instance on this runner.
    var all: [HostedInstance] { entries.withLockedValue { Array($0.values) } }

    var count: Int { entries.withLockedValue { $0.count } }
}
