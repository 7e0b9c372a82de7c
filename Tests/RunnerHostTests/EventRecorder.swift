import FlowModel
import Foundation
import NIOConcurrencyHelpers
@testable import RunnerHost
import RunnerProtocol

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Collects a runner's events; tests wait for the event they expect, with a timeout.
final class EventRecorder: Sendable {
    private struct Waiter {
        let id: UUID
        let predicate: @Sendable ([RunnerEvent]) -> Bool
        let continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var events: [RunnerEvent] = []
        var waiters: [Waiter] = []
    }
    private let state = NIOLockedValueBox(State())

    var events: [RunnerEvent] { state.withLockedValue { $0.events } }

    func record(_ event: RunnerEvent) {
        let ready: [Waiter] = state.withLockedValue { s in
            s.events.append(event)
            let events = s.events
            let (done, rest) = (s.waiters.filter { $0.predicate(events) }, s.waiters.filter { !$0.predicate(events) })
            s.waiters = rest
            return done
        }
        for w in ready { w.continuation.resume() }
    }

    /// Waits until `predicate` holds over all events recorded so far.
    func wait(for what: String, timeout: Duration = .seconds(20), until predicate: @escaping @Sendable ([RunnerEvent]) -> Bool) async throws {
        let id = UUID()
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.expire(id)
        }
        defer { timer.cancel() }
        do {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let now: Bool = state.withLockedValue { s in
                    if predicate(s.events) { return true }
                    s.waiters.append(Waiter(id: id, predicate: predicate, continuation: c))
                    return false
                }
                if now { c.resume() }
            }
        } catch {
            throw TimedOut(what: "\(what); events so far: \(events.suffix(8))")
        }
    }

    private func expire(_ id: UUID) {
        let w: Waiter? = state.withLockedValue { s in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: i)
        }
        w?.continuation.resume(throwing: TimedOut(what: ""))
    }

    func outputs(_ flow: String, _ module: String? = nil) -> [String] { events.outputs(flow, module) }
    func errors(_ flow: String, _ module: String? = nil) -> [ModuleErrorRecord] { events.errors(flow, module) }
    func logs(_ flow: String) -> [String] { events.logs(flow) }
}

/// Queries over recorded events (also usable inside `wait` predicates, which must not call the recorder).
extension Array where Element == RunnerEvent {
    func outputs(_ flow: String, _ module: String? = nil) -> [String] {
        compactMap {
            if case .output(let f, let m, _, let payload) = $0, f.rawValue == flow, module == nil || m.rawValue == module { return payload }
            return nil
        }
    }

    func errors(_ flow: String, _ module: String? = nil) -> [ModuleErrorRecord] {
        compactMap {
            if case .moduleError(let f, let m, let e) = $0, f.rawValue == flow, module == nil || m.rawValue == module { return e }
            return nil
        }
    }

    func logs(_ flow: String) -> [String] {
        compactMap {
            if case .log(let f, _, _, let record) = $0, f.rawValue == flow { return record.text }
            return nil
        }
    }
}
