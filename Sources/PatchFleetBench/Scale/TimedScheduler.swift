import Foundation
import PatchFleetCore
import Synchronization

/// The real scheduler, timed: how many decisions a run asked for and what
/// they cost (wall time; the scale run is one sequential loop).
final class TimedScheduler: SchedulingStrategy {
    private let inner = Scheduler()
    private let stats = Mutex<(decisions: Int, seconds: Double)>((0, 0))

    func decide(_ input: SchedulingInput) -> SchedulingDecision {
        let start = monotonicSeconds()
        let decision = inner.decide(input)
        let elapsed = monotonicSeconds() - start
        stats.withLock {
            $0.decisions += 1
            $0.seconds += elapsed
        }
        return decision
    }

    var decisions: Int { stats.withLock { $0.decisions } }
    var seconds: Double { stats.withLock { $0.seconds } }
}

/// The saga clock of an in-process run: moves only when the run says so.
final class ManualClock: Sendable {
    private let seconds: Mutex<Double>
    init(start: Double) { seconds = Mutex(start) }
    var now: Instant { Instant(secondsSinceEpoch: seconds.withLock { $0 }) }
    var secondsValue: Double { seconds.withLock { $0 } }
    func advance(by delta: Double) { seconds.withLock { $0 += delta } }
}
