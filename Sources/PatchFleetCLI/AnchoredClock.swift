import Foundation
import PatchFleetCore

/// The coordinator's saga clock. At time scale 1 it is wall-clock time. Sped
/// up (to run against the lab), it is `virtualOrigin + (wall − wallOrigin) ×
/// scale`, with the origin kept in a file beside the store, so the clock
/// continues across a restart instead of jumping relative to the times the
/// sagas already recorded.
struct AnchoredClock: Codable, Sendable {
    var wallOrigin: Double
    var virtualOrigin: Double
    var timeScale: Double

    func now() -> Instant {
        Instant(secondsSinceEpoch: virtualOrigin + (Date().timeIntervalSince1970 - wallOrigin) * timeScale)
    }

    /// The clock stored at `path` if its scale matches; otherwise a new one
    /// starting now, written there.
    static func load(path: String, timeScale: Double) throws -> AnchoredClock {
        if let data = FileManager.default.contents(atPath: path),
           let stored = try? JSONDecoder().decode(AnchoredClock.self, from: data), stored.timeScale == timeScale {
            return stored
        }
        let wall = Date().timeIntervalSince1970
        let clock = AnchoredClock(wallOrigin: wall, virtualOrigin: wall, timeScale: timeScale)
        try JSONEncoder().encode(clock).write(to: URL(fileURLWithPath: path), options: .atomic)
        return clock
    }
}
