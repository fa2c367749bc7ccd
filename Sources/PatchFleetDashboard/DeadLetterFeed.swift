import AMQP
import CoreMetrics
import Foundation
import PatchFleetCore
import PatchFleetWire
import Synchronization

/// One dead letter as the dashboard lists it.
public struct DashboardDeadLetter: Codable, Sendable, Equatable {
    public var messageId: String
    public var reason: String
    public var queue: String?
    public var schema: String?
    public var jobId: String?
    /// When the coordinator saw the copy (wall clock, ISO 8601).
    public var seenAt: String
}

/// Recent dead letters, read from the bounded copy queue
/// (`FleetTopology.deadSeenQueue`), never from the dead-letter queue itself
/// that people settle with `patchfleet dead-letters`. Also counts
/// `patchfleet_dead_letters_total{queue}` for alerting.
public final class DeadLetterFeed: Sendable {
    public static let kept = 100
    private let recent = Mutex<[DashboardDeadLetter]>([])
    private let seen = Atomic<Int>(0)
    private let consumer = Mutex<AMQPConsumer?>(nil)

    public init() {}

    /// Consumes the copies until the consumer ends (shutdown or connection closed).
    public func follow(_ connection: AMQPConnection, topology: FleetTopology) async throws {
        // Its own declarations, so the feed does not depend on who declared the topology first.
        try await connection.declare(Topology(
            exchanges: topology.exchanges.filter { $0.name == topology.deadExchange },
            queues: topology.queues.filter { $0.name == topology.deadSeenQueue },
            bindings: topology.bindings.filter { $0.queue == topology.deadSeenQueue }))
        let started = try await connection.consume(queue: topology.deadSeenQueue, prefetch: 50)
        consumer.withLock { $0 = started }
        for try await delivery in started {
            record(DeadLetter(delivery))
            delivery.ack()  // a copy for display: the original stays in the dead-letter queue
        }
    }

    func record(_ letter: DeadLetter) {
        Counter(label: "patchfleet_dead_letters_total", dimensions: [("queue", letter.queue ?? "unknown")]).increment()
        seen.add(1, ordering: .relaxed)
        let entry = DashboardDeadLetter(messageId: letter.messageId, reason: letter.reason, queue: letter.queue,
                                        schema: letter.schema, jobId: letter.jobId,
                                        seenAt: Instant.iso8601(Instant(secondsSinceEpoch: Date().timeIntervalSince1970)))
        recent.withLock { list in
            list.insert(entry, at: 0)
            if list.count > Self.kept { list.removeLast(list.count - Self.kept) }
        }
    }

    /// Ends `follow`.
    public func stop() async {
        await consumer.withLock { $0 }?.cancel()
    }

    /// Newest first.
    public var letters: [DashboardDeadLetter] { recent.withLock { $0 } }
    public var seenSinceStart: Int { seen.load(ordering: .relaxed) }
}
