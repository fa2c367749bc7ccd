import Foundation
import PatchFleetCore

/// Real time, sped up: for the lab process, where worker processes wait for
/// simulated operations in wall-clock time. With `timeScale` 60 a 15-minute
/// install takes 15 seconds. Virtual time starts at `start` when the clock is
/// made and never goes backward (it is derived from a monotonic clock).
public final class ScaledWallClock: SimulationClock {
    public let start: Instant
    public let timeScale: Double
    private let wallStart: Double

    public init(start: Instant, timeScale: Double) {
        precondition(timeScale > 0, "time scale must be positive")
        self.start = start
        self.timeScale = timeScale
        self.wallStart = Self.monotonicSeconds()
    }

    public func now() -> Instant {
        start.adding(seconds: (Self.monotonicSeconds() - wallStart) * timeScale)
    }

    public func sleep(until deadline: Instant) async throws {
        // Sleep in slices: a long simulated wait stays cancellable and lands
        // close to its deadline even if the scheduler wakes us late.
        while true {
            let remaining = deadline.seconds(since: now()) / timeScale
            if remaining <= 0 { return }
            try await Task.sleep(for: .milliseconds(Int(min(remaining, 0.5) * 1000) + 1))
        }
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
