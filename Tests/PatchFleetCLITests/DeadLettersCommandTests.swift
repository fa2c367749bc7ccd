import AMQP
import Foundation
import PatchFleetTestSupport
import PatchFleetWire
import Testing

/// `patchfleet dead-letters` against the real broker: what was refused is
/// listed with its reason and origin, replayed to where it was going, or
/// purged, and nothing is lost on the way.
@Suite("patchfleet dead-letters", .timeLimit(.minutes(1)))
struct DeadLettersCommandTests {
    static var url: String {
        ProcessInfo.processInfo.environment["PATCHFLEET_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5682/%2f"
    }

    @Test func listReplayAndPurge() async throws {
        let connection = try await AMQPConnection.connect(url: Self.url)
        let fleet = FleetTopology(prefix: "test-dead-\(UUID().uuidString.prefix(8).lowercased())")
        try await connection.declare(fleet.topology)
        // Two messages refused from the jobs queue, as the coordinator refuses them.
        let origin = "\(fleet.prefix).origin"
        try await connection.declare(QueueSpec(origin, durable: false))
        for (id, body) in [("bad-json", "{not json"), ("unknown-cluster", #"{"schema":"patchfleet.job.submit"}"#)] {
            var message = AMQPMessage(body)
            message.properties.messageId = id
            try await connection.publish(message, exchange: "", routingKey: origin)
        }
        let consumer = try await connection.consume(queue: origin, prefetch: 2)
        var iterator = consumer.makeAsyncIterator()
        for reason in ["the body is not JSON", "targets.clusters[0] names unknown cluster 'Atlantis'"] {
            let delivery = try #require(try await iterator.next())
            #expect(await connection.deadLetter(delivery, from: origin, reason: reason, topology: fleet))
        }
        await consumer.cancel()
        let cli = [patchfleetExecutable(), "dead-letters"]
        let broker = ["--url", Self.url, "--prefix", fleet.prefix]

        let list = try await runCommand(cli + ["list"] + broker)
        #expect(list.contains("bad-json") && list.contains("reason: the body is not JSON"), "\(list)")
        #expect(list.contains("unknown-cluster") && list.contains("names unknown cluster 'Atlantis'"), "\(list)")
        #expect(list.contains("from \(origin)"), "\(list)")
        #expect(list.contains("2 dead letter(s)"), "listing leaves them in place: \(list)")

        let replay = try await runCommand(cli + ["replay", "--message-id", "unknown-cluster"] + broker)
        #expect(replay.contains("replayed unknown-cluster") && replay.contains("1 replayed"), "\(replay)")
        let back = try await connection.consume(queue: origin, prefetch: 1)
        var backIterator = back.makeAsyncIterator()
        let replayed = try #require(try await backIterator.next())
        #expect(replayed.properties.messageId == "unknown-cluster")
        #expect(replayed.properties.headers?[DeadLetterHeader.reason] == nil, "replayed as it was, without the dead-letter headers")
        replayed.ack()
        await back.cancel()

        do {
            _ = try await runCommand(cli + ["purge"] + broker)
            Issue.record("purge without --message-id or --all was accepted")
        } catch let failure as CommandFailed {
            #expect(failure.description.contains("--message-id ID (repeatable) or --all"))
        }
        let purge = try await runCommand(cli + ["purge", "--all"] + broker)
        #expect(purge.contains("purged bad-json") && purge.contains("1 purged"), "\(purge)")
        let empty = try await runCommand(cli + ["list"] + broker)
        #expect(empty.contains("no dead letters"), "\(empty)")

        for queue in fleet.queues { _ = try? await connection.deleteQueue(queue.name) }
        for exchange in fleet.exchanges { try? await connection.deleteExchange(exchange.name) }
        _ = try? await connection.deleteQueue(origin)
        await connection.close()
    }
}
