import AMQP
import Foundation
import Testing

/// Kills, restarts and freezes a broker of its own, so these run one at a time.
@Suite("AMQP recovery", .serialized, .timeLimit(.minutes(5)))
struct RecoveryTests {
    static let broker = DisposableBroker(name: "amqp-recovery-test", port: 5692)

    init() async throws { try await Self.broker.run("start") }

    @Test func brokerRestartMidStreamLosesNoConfirmedMessage() async throws {
        let broker = Self.broker
        var config = try AMQPConfiguration(url: broker.url)
        config.heartbeat = 2
        let fast = RecoveryPolicy(initialDelay: 0.1, maxDelay: 0.5)
        let publisher = try await AMQPConnection.connect(config, recovery: fast)
        let consumerConn = try await AMQPConnection.connect(config, recovery: fast)
        let queue = TestBroker.uniqueName("recovery")
        // Durable quorum queue + persistent messages: what the broker confirmed survives its restart.
        try await publisher.declare(QueueSpec(queue, type: .quorum))
        try await consumerConn.declare(QueueSpec(queue, type: .quorum))

        let confirmed = Collector<Int>()
        let failed = Collector<Int>()
        let received = Collector<Int>()
        let consumer = try await consumerConn.consume(queue: queue, prefetch: 50)
        let reader = Task {
            for try await d in consumer {
                await received.append(Int(String(decoding: d.body, as: UTF8.self))!)
                d.ack()
            }
        }
        let total = 3_000
        let writer = Task {
            for i in 0..<total {
                do {
                    try await publisher.publish(
                        AMQPMessage(body: Data(String(i).utf8), properties: AMQPProperties(deliveryMode: .persistent)),
                        exchange: "", routingKey: queue, onConnectionLoss: .republish)
                    await confirmed.append(i)
                } catch {
                    await failed.append(i)
                }
                if i % 100 == 0 { try? await Task.sleep(for: .milliseconds(20)) }
            }
        }
        #expect(await eventually(within: 30) { await confirmed.count >= 500 })
        try await broker.run("stop")
        try await broker.run("start")
        await writer.value
        #expect(await failed.count == 0)  // .republish: every publish eventually confirmed
        #expect(await confirmed.count == total)
        let allReceived = await eventually(within: 60) { Set(await received.items).count == total }
        let distinct = Set(await received.items).count
        #expect(allReceived, "received \(distinct) of \(total) distinct messages")
        #expect(publisher.reconnectCount >= 1)
        #expect(consumerConn.reconnectCount >= 1)
        await consumer.cancel()
        _ = try? await reader.value
        try await publisher.deleteQueue(queue)
        await publisher.close()
        await consumerConn.close()
    }

    /// Cleanup against a broker that is gone for good gives up after its
    /// deadline (a broker call waits for the reconnect, which never comes),
    /// and `close()` still returns: a stopping process does not hang.
    @Test func bestEffortCleanupGivesUpOnABrokerThatIsGone() async throws {
        let broker = Self.broker
        let conn = try await AMQPConnection.connect(try AMQPConfiguration(url: broker.url),
                                                    recovery: RecoveryPolicy(initialDelay: 0.1, maxDelay: 0.5))
        let queue = TestBroker.uniqueName("best-effort")
        try await conn.declare(QueueSpec(queue, durable: false, exclusive: false, autoDelete: false))
        #expect(await conn.bestEffort(within: 10) { _ = try? await $0.deleteQueue(queue) }, "a broker that answers: done")
        let events = conn.events()
        try await broker.run("stop")
        // Only once the connection knows it is down does a call wait (before, it fails at once).
        for await event in events { if case .disconnected = event { break } }
        let began = ContinuousClock.now
        let finished = await conn.bestEffort(within: 1) { _ = try? await $0.deleteQueue(queue) }
        #expect(!finished, "nobody answers: it gives up")
        #expect(ContinuousClock.now - began < .seconds(10))
        await conn.close()
        try await broker.run("start")
    }

    @Test func frozenBrokerIsDetectedByHeartbeatAndRecovered() async throws {
        let broker = Self.broker
        var config = try AMQPConfiguration(url: broker.url)
        config.heartbeat = 1
        let conn = try await AMQPConnection.connect(config, recovery: RecoveryPolicy(initialDelay: 0.2, maxDelay: 1))
        let events = conn.events()
        let queue = TestBroker.uniqueName("heartbeat")
        try await conn.declare(QueueSpec(queue, durable: false, exclusive: false, autoDelete: false))
        try await broker.run("pause")
        let frozenAt = Date()
        var detectedAfter: Double?
        var sawReconnect = false
        var resumed = false
        for await event in events {
            switch event {
            case .disconnected(let error):
                detectedAfter = Date().timeIntervalSince(frozenAt)
                #expect(error == .heartbeatTimeout)
                try await broker.run("resume")
                resumed = true
            case .reconnected:
                sawReconnect = true
            default:
                break
            }
            if sawReconnect { break }
        }
        if !resumed { try await broker.run("resume") }
        let detected = try #require(detectedAfter)
        // librabbitmq gives up on a peer silent for two heartbeat intervals; the
        // loop wakes at least every quarter interval, hence the small margin.
        #expect(detected <= 2.0 * Double(config.heartbeat) + 1.0, "detected after \(detected) s")
        #expect(sawReconnect)
        // The topology declared before the freeze is usable again.
        try await conn.publish(AMQPMessage("after"), exchange: "", routingKey: queue, mandatory: true)
        try await conn.deleteQueue(queue)
        await conn.close()
    }
}
