import Foundation

/// A point in time, in seconds since the Unix epoch.
///
/// The core never reads a clock: every `Instant` arrives as an input (on an
/// event, or as the scheduler's `now`), which is what makes the saga and the
/// scheduler deterministic and replayable on virtual time.
public struct Instant: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var secondsSinceEpoch: Double

    public init(secondsSinceEpoch: Double) {
        self.secondsSinceEpoch = secondsSinceEpoch
    }

    public static let epoch = Instant(secondsSinceEpoch: 0)

    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.secondsSinceEpoch < rhs.secondsSinceEpoch
    }

    public func adding(seconds: Double) -> Instant {
        Instant(secondsSinceEpoch: secondsSinceEpoch + seconds)
    }

    public func seconds(since earlier: Instant) -> Double {
        secondsSinceEpoch - earlier.secondsSinceEpoch
    }

    public var description: String { Instant.iso8601(self) }

    /// Accepts a number (seconds since epoch) or an ISO 8601 string, because
    /// people write maintenance windows by hand in job files.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self) {
            self.init(secondsSinceEpoch: seconds)
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = Instant.parseISO8601(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is neither seconds since epoch nor an ISO 8601 date")
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(secondsSinceEpoch)
    }

    public static func parseISO8601(_ text: String) -> Instant? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) {
            return Instant(secondsSinceEpoch: date.timeIntervalSince1970)
        }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text).map { Instant(secondsSinceEpoch: $0.timeIntervalSince1970) }
    }

    public static func iso8601(_ instant: Instant) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: instant.secondsSinceEpoch))
    }
}
