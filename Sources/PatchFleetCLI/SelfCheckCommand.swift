import AMQP
import ArgumentParser
import Foundation
import Logging

/// `patchfleet selfcheck`: proves the AMQP path works end to end against a
/// broker: connect, declare, confirmed publish, consume, ack, clean up.
struct SelfCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Check the AMQP transport against a broker with a confirmed round trip.",
        discussion: """
            Exit status 0 when every step worked; otherwise the failing step and the broker's own message.
            Examples:
              patchfleet selfcheck
              patchfleet selfcheck --url "amqps://pf-worker@broker.example:5671/patchfleet?cacertfile=/etc/patchfleet/ca.pem"
            """)

    @OptionGroup var fleet: FleetOptions

    @Option(help: "Messages to send through the round trip.")
    var messages = 100

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let config = try fleet.amqpConfiguration(try fleet.settings())
        let started = Date()
        func step(_ text: String) { print(String(format: "  %7.1f ms  %@", Date().timeIntervalSince(started) * 1000, text)) }
        print("AMQP self-check against \(config.redactedURL)")
        let connection = try await AMQPConnection.connect(config, recovery: .disabled)
        step("connected and logged in (heartbeat \(config.heartbeat) s)")
        let queue = "patchfleet.selfcheck.\(UUID().uuidString.prefix(8))"
        try await connection.declare(QueueSpec(queue, type: .quorum))
        step("declared quorum queue \(queue)")
        let batch = (0..<messages).map {
            AMQPConnection.Publication(
                AMQPMessage("{\"n\":\($0)}", properties: AMQPProperties(contentType: "application/json",
                                                                       deliveryMode: .persistent, messageId: "selfcheck-\($0)")),
                exchange: "", routingKey: queue, mandatory: true)
        }
        let failures = await connection.publish(batch: batch).filter { if case .failure = $0 { return true }; return false }
        guard failures.isEmpty else { throw ValidationError("\(failures.count) publishes were not confirmed: \(failures[0])") }
        step("\(messages) persistent messages published and confirmed by the broker")
        let consumer = try await connection.consume(queue: queue, prefetch: 50)
        var received = Set<String>()
        for try await delivery in consumer {
            received.insert(delivery.properties.messageId ?? "")
            delivery.ack()
            if received.count == messages { break }
        }
        await consumer.cancel()
        step("\(received.count) messages consumed and acknowledged")
        try await connection.deleteQueue(queue)
        await connection.close()
        step("queue deleted, connection closed")
        print("selfcheck ok")
    }
}
