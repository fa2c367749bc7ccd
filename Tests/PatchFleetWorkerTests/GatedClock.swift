import PatchFleetCore
import PatchFleetSimulator
import Synchronization

/// Simulated time that stands still until the test opens the gate: every
/// backend call that waits for its simulated duration waits here instead.
/// The number of calls waiting at once is then how many tasks the workers
/// have in flight at once — evidence without timing anything.
final class GatedClock: SimulationClock {
    private struct State {
        var now: Instant
        var open = false
        var sleepers: [CheckedContinuation<Void, Never>] = []
        /// Tests waiting for at least `count` sleepers.
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var mostAtOnce = 0
    }

    private let state: Mutex<State>

    init(start: Instant) {
        state = Mutex(State(now: start))
    }

    func now() -> Instant { state.withLock { $0.now } }

    /// Most calls that were ever waiting at the same time.
    var mostAtOnce: Int { state.withLock { $0.mostAtOnce } }

    func sleep(until deadline: Instant) async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> [CheckedContinuation<Void, Never>]? in
                if s.open { return nil }
                s.sleepers.append(continuation)
                s.mostAtOnce = max(s.mostAtOnce, s.sleepers.count)
                let count = s.sleepers.count
                let due = s.watchers.filter { $0.count <= count }.map(\.continuation)
                s.watchers.removeAll { $0.count <= count }
                return due
            }
            guard let ready else { return continuation.resume() }
            for watcher in ready { watcher.resume() }
        }
        state.withLock { $0.now = max($0.now, deadline) }
    }

    /// Returns once at least `count` calls are waiting at the gate.
    func waitForSleepers(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let already = state.withLock { s -> Bool in
                if s.sleepers.count >= count { return true }
                s.watchers.append((count, continuation))
                return false
            }
            if already { continuation.resume() }
        }
    }

    /// Lets every waiting call go on, and every later one pass at once.
    func open() {
        let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.sleepers = [] }
            return s.sleepers
        }
        for sleeper in waiting { sleeper.resume() }
    }
}
