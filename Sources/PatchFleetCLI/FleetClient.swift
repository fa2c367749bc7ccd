import AMQP
import ArgumentParser
import Foundation
import PatchFleetWire

/// The CLI's view of a running fleet from any machine that reaches the
/// broker: ask the coordinator about jobs, and follow the event stream.
struct FleetClient {
    let connection: AMQPConnection
    let topology: FleetTopology

    static func connect(_ fleet: FleetOptions) async throws -> FleetClient {
        let settings = try fleet.settings()
        let connection = try await AMQPConnection.connect(try fleet.amqpConfiguration(settings), recovery: .disabled)
        return FleetClient(connection: connection, topology: try fleet.topology(settings))
    }

    func close() async { await connection.close() }

    /// A private, self-deleting queue for answers or events.
    func privateQueue(_ purpose: String) async throws -> String {
        let name = "\(topology.prefix).\(purpose).\(UUID().uuidString.prefix(8).lowercased())"
        try await connection.declare(QueueSpec(name, durable: false, exclusive: true, autoDelete: true))
        return name
    }

    /// Asks the coordinator and waits for the answer correlated to the question.
    func ask(_ query: JobQuery, timeout: Duration = .seconds(15)) async throws -> JobStatusReply {
        let replies = try await privateQueue("reply")
        let consumer = try await connection.consume(queue: replies, prefetch: 4)
        let messageId = UUID().uuidString
        let message = try WireEncoder.encode(query, envelope: query.envelope(messageId: messageId, replyTo: replies))
        let publication = topology.query(message)
        try await connection.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                     mandatory: true)
        let reply = try await firstResult(within: timeout) { () async throws -> JobStatusReply? in
            for try await delivery in consumer {
                delivery.ack()
                guard delivery.properties.correlationId == messageId,
                      case .jobStatus(let reply, _) = try WireDecoder(maxBodyBytes: JobStatusReply.maximumBytes).decode(delivery)
                else { continue }
                return reply
            }
            return nil
        }
        await consumer.cancel()
        guard let reply else {
            throw ValidationError("the coordinator did not answer within \(timeout) (is it running on prefix '\(topology.prefix)'?)")
        }
        return reply
    }

    /// A queue receiving every job and host event from now on.
    func subscribeToEvents() async throws -> AMQPConsumer {
        let queue = try await privateQueue("watch")
        for key in ["job.#", "host.#"] {
            try await connection.bind(QueueBinding(queue: queue, exchange: topology.eventsExchange, routingKey: key))
        }
        return try await connection.consume(queue: queue, prefetch: 200)
    }
}
