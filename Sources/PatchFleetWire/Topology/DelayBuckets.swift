/// Delayed delivery without plugins: a fixed set of queues, one per delay,
/// each with a per-queue TTL, that dead-letter expired messages back to the
/// exchange they were meant for, with their original routing key.
///
/// A fixed set (rather than a per-message `expiration`) because RabbitMQ only
/// expires messages at the head of a queue: one long-delay message would hold
/// back every shorter one behind it. With one TTL per queue, the head is
/// always the first to expire.
///
/// Rounding: a delay goes to the smallest bucket at least as long, so a
/// message never comes back before its delay (it may come back up to one
/// bucket gap late: 61 s waits 300 s). A delay longer than the largest bucket
/// goes through the largest one with `notBefore` set; the receiver sees it
/// is early and delays the rest (`FleetTopology.delayed`). A delay of zero or
/// less is no delay.
public struct DelayBuckets: Sendable, Hashable {
    /// Bucket lengths in seconds, ascending, without duplicates.
    public let seconds: [Int]

    public static let standard = DelayBuckets(unchecked: [5, 15, 60, 300, 900])

    /// Nil if `seconds` is empty or has a length that is not positive.
    public init?(_ seconds: [Int]) {
        let sorted = Array(Set(seconds)).sorted()
        guard let first = sorted.first, first > 0 else { return nil }
        self.seconds = sorted
    }

    private init(unchecked seconds: [Int]) { self.seconds = seconds }

    /// The bucket for a delay, or nil for no delay.
    public func bucket(for delay: Double) -> Int? {
        guard delay > 0 else { return nil }
        return seconds.first { Double($0) >= delay } ?? seconds.last
    }
}
