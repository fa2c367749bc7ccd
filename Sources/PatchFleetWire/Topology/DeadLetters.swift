import AMQP
import Foundation
import Synchronization

/// One message in the dead-letter queue, as a person needs to see it: why,
/// from where, and what it was.
public struct DeadLetter: Sendable {
    public let delivery: AMQPDelivery
    public var messageId: String { delivery.properties.messageId ?? "(no message id)" }
    /// The reason PatchFleet gave, or RabbitMQ's own (`x-death`: rejected,
    /// delivery limit, expired) when the broker dead-lettered it.
    public let reason: String
    public let queue: String?
    public let exchange: String?
    public let routingKey: String?
    public var schema: String? { delivery.properties.type }
    public var jobId: String? { delivery.properties.headers?[EnvelopeHeader.jobId]?.stringValue }

    public init(_ delivery: AMQPDelivery) {
        self.delivery = delivery
        let headers = delivery.properties.headers ?? AMQPFieldTable()
        if let reason = headers[DeadLetterHeader.reason]?.stringValue {
            self.reason = reason
            queue = headers[DeadLetterHeader.queue]?.stringValue
            exchange = headers[DeadLetterHeader.exchange]?.stringValue
            routingKey = headers[DeadLetterHeader.routingKey]?.stringValue
        } else if case .array(let deaths)? = headers["x-death"], case .table(let first)? = deaths.first {
            let why = first["reason"]?.stringValue ?? "unknown"
            reason = "dead-lettered by the broker: \(why)\(why == "delivery_limit" ? " (the task failed on every delivery: poison)" : "")"
            queue = first["queue"]?.stringValue
            exchange = first["exchange"]?.stringValue
            if case .array(let keys)? = first["routing-keys"] { routingKey = keys.first?.stringValue } else { routingKey = nil }
        } else {
            reason = "no reason recorded"
            queue = nil
            exchange = nil
            routingKey = nil
        }
    }

    /// The message as it was before it was dead-lettered, to send it again.
    public var original: AMQPMessage {
        var properties = delivery.properties
        var headers = properties.headers ?? AMQPFieldTable()
        for name in [DeadLetterHeader.reason, DeadLetterHeader.queue, DeadLetterHeader.exchange, DeadLetterHeader.routingKey,
                     "x-death", "x-first-death-queue", "x-first-death-reason", "x-first-death-exchange", "x-delivery-count"] {
            headers[name] = nil
        }
        properties.headers = headers
        return AMQPMessage(body: delivery.body, properties: properties)
    }
}

/// Browsing and settling the dead-letter queue (`patchfleet dead-letters`).
/// Messages are read with manual acks: each is either settled on purpose
/// (replayed and confirmed, or purged) or given back to the queue, so a
/// browse that fails half-way loses nothing.
public struct DeadLetterQueue: Sendable {
    public let connection: AMQPConnection
    public let topology: FleetTopology

    public init(connection: AMQPConnection, topology: FleetTopology) {
        self.connection = connection
        self.topology = topology
    }

    /// Up to `limit` dead letters, held (unacked) until each is settled:
    /// `replay`, `purge`, or `giveBack`. Reading stops at `limit` or once
    /// the queue has sent nothing for `quiet`.
    public func browse(limit: Int, quiet: Duration = .milliseconds(500)) async throws -> [DeadLetter] {
        let consumer = try await connection.consume(queue: topology.deadQueue, prefetch: UInt16(max(1, min(limit, 1000))))
        let collected = Mutex<[DeadLetter]>([])
        let reader = Task {
            for try await delivery in consumer { collected.withLock { $0.append(DeadLetter(delivery)) } }
        }
        var seen = -1
        while true {
            try await Task.sleep(for: quiet)
            let count = collected.withLock { $0.count }
            if count >= limit || count == seen { break }
            seen = count
        }
        // Deliveries not yet read go back at once; the read ones wait for their settlement.
        await consumer.cancel()
        _ = try? await reader.value
        return collected.withLock { $0 }
    }

    public func purge(_ letter: DeadLetter) { letter.delivery.ack() }

    public func giveBack(_ letter: DeadLetter) { letter.delivery.nack(requeue: true) }

    /// Sends the original message to where it was going, confirmed, then
    /// removes the dead copy.
    public func replay(_ letter: DeadLetter) async throws {
        if let exchange = letter.exchange, let routingKey = letter.routingKey {
            try await connection.publish(letter.original, exchange: exchange, routingKey: routingKey, mandatory: true)
        } else if let queue = letter.queue {
            try await connection.publish(letter.original, exchange: "", routingKey: queue, mandatory: true)
        } else {
            throw ReplayError(description: "message \(letter.messageId) does not say where it was going; it stays in the dead-letter queue")
        }
        letter.delivery.ack()
    }

    public struct ReplayError: Error, CustomStringConvertible {
        public let description: String
    }
}
