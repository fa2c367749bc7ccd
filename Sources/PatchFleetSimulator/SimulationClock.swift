import PatchFleetCore
import Synchronization

/// Where the simulator gets "now" and how its async backend calls wait.
///
/// A protocol so tests run on virtual time (`VirtualClock`) while the lab
/// process can later plug in a real-time clock scaled by the time-scale factor.
public protocol SimulationClock: Sendable {
    func now() -> Instant
    /// Returns once the clock has reached `deadline`.
    func sleep(until deadline: Instant) async throws
}

/// Virtual time: it moves only when told to. A sleeper moves it forward to its
/// deadline at once, so a sequential caller sees operations take their
/// simulated durations without waiting for them.
public final class VirtualClock: SimulationClock {
    private let current: Mutex<Instant>

    public init(start: Instant) {
        current = Mutex(start)
    }

    public func now() -> Instant { current.withLock { $0 } }

    /// Moves time forward (never backward: history must stay ordered).
    public func advance(to instant: Instant) {
        current.withLock { $0 = max($0, instant) }
    }

    public func sleep(until deadline: Instant) async throws {
        advance(to: deadline)
    }
}
