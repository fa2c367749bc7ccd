import AMQP
import Foundation
import Testing

/// Behaviour against the real private broker (started by deploy/local/test.sh).
@Suite("AMQP against a real broker", .timeLimit(.minutes(3)))
struct BrokerTests {
    @Test func publishConsumeAckRoundTrip() async throws {
        let conn = try await TestBroker.connect()
        let queue = TestBroker.uniqueName("roundtrip")
        try await conn.declare(QueueSpec(queue, durable: false))
        try await conn.publish(AMQPMessage("hello"), exchange: "", routingKey: queue)
        let consumer = try await conn.consume(queue: queue, prefetch: 1)
        var iterator = consumer.makeAsyncIterator()
        let delivery = try #require(try await iterator.next())
        #expect(String(decoding: delivery.body, as: UTF8.self) == "hello")
        #expect(delivery.routingKey == queue)
        #expect(delivery.redelivered == false)
        #expect(await delivery.ackAndWait())
        await consumer.cancel()
        #expect(try await conn.deleteQueue(queue) == 0)
        await conn.close()
    }

    @Test func tenThousandPublishesInFlightAreAllConfirmed() async throws {
        let conn = try await TestBroker.connect()
        let queue = TestBroker.uniqueName("confirms")
        try await conn.declare(QueueSpec(queue, type: .quorum))
        // Half as one batch, half as independent concurrent publish calls.
        let batch = (0..<5_000).map { AMQPConnection.Publication(AMQPMessage("b\($0)"), exchange: "", routingKey: queue) }
        async let batchResults = conn.publish(batch: batch)
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<5_000 {
                group.addTask {
                    do { try await conn.publish(AMQPMessage("c\(i)"), exchange: "", routingKey: queue); return 0 } catch { return 1 }
                }
            }
            return try await group.reduce(0, +)
        }
        let results = await batchResults
        #expect(failures == 0)
        #expect(results.count == 5_000)
        #expect(results.allSatisfy { if case .success = $0 { return true }; return false })
        let declared = try await conn.declare(QueueSpec(queue, type: .quorum))
        #expect(declared.messageCount == 10_000)
        try await conn.deleteQueue(queue)
        await conn.close()
    }

    @Test func nackAndRejectWithoutRequeueDeadLetter() async throws {
        let conn = try await TestBroker.connect()
        let dlx = TestBroker.uniqueName("dlx"), dlq = TestBroker.uniqueName("dlq"), queue = TestBroker.uniqueName("work")
        try await conn.declare(Topology(
            exchanges: [ExchangeSpec(dlx, kind: .fanout, durable: false, autoDelete: true)],
            queues: [QueueSpec(dlq, durable: false), QueueSpec(queue, type: .quorum, deadLetterExchange: dlx, deliveryLimit: 5)],
            bindings: [QueueBinding(queue: dlq, exchange: dlx)]))
        try await conn.publish(AMQPMessage("nacked", properties: AMQPProperties(messageId: "m1")), exchange: "", routingKey: queue)
        try await conn.publish(AMQPMessage("rejected", properties: AMQPProperties(messageId: "m2")), exchange: "", routingKey: queue)
        let consumer = try await conn.consume(queue: queue, prefetch: 2)
        var it = consumer.makeAsyncIterator()
        let first = try #require(try await it.next())
        let second = try #require(try await it.next())
        first.nack(requeue: false)
        second.reject(requeue: false)
        await consumer.cancel()

        let dead = try await conn.consume(queue: dlq, prefetch: 10)
        var deadIt = dead.makeAsyncIterator()
        var seen: [String: String] = [:]
        for _ in 0..<2 {
            let d = try #require(try await deadIt.next())
            // RabbitMQ records why: x-death[0].reason == "rejected", queue == the work queue.
            guard case .array(let deaths)? = d.properties.headers?["x-death"], case .table(let death)? = deaths.first else {
                Issue.record("no x-death header on a dead-lettered message")
                continue
            }
            #expect(death["queue"]?.stringValue == queue)
            seen[d.properties.messageId ?? "?"] = death["reason"]?.stringValue
            d.ack()
        }
        #expect(seen == ["m1": "rejected", "m2": "rejected"])
        await dead.cancel()
        try await conn.deleteQueue(queue)
        try await conn.deleteQueue(dlq)
        await conn.close()
    }

    @Test func unroutableMandatoryPublishIsReportedAndChannelErrorsAreSurvived() async throws {
        let conn = try await TestBroker.connect()
        let exchange = TestBroker.uniqueName("nowhere")
        try await conn.declare(ExchangeSpec(exchange, kind: .direct, durable: false, autoDelete: false))
        await #expect(throws: AMQPError.unroutable(exchange: exchange, routingKey: "k", code: 312, text: "NO_ROUTE")) {
            try await conn.publish(AMQPMessage("x"), exchange: exchange, routingKey: "k", mandatory: true)
        }
        // Without mandatory the broker confirms (and drops) it.
        try await conn.publish(AMQPMessage("x"), exchange: exchange, routingKey: "k")
        // A publish to a missing exchange closes the channel (404) ...
        do {
            try await conn.publish(AMQPMessage("x"), exchange: TestBroker.uniqueName("missing"), routingKey: "k")
            Issue.record("publish to a missing exchange succeeded")
        } catch let error as AMQPError {
            guard case .channelClosed(let code, let text) = error else { Issue.record("got \(error)"); return }
            #expect(code == 404)
            #expect(text.contains("NOT_FOUND"))
        }
        // ... and the connection reopens it: the next publish works.
        let queue = TestBroker.uniqueName("after404")
        try await conn.declare(QueueSpec(queue, durable: false))
        try await conn.publish(AMQPMessage("ok"), exchange: "", routingKey: queue, mandatory: true)
        #expect(try await conn.deleteQueue(queue) == 1)
        try await conn.deleteExchange(exchange)
        await conn.close()
    }

    @Test func brokerNackIsReportedToThePublisher() async throws {
        let conn = try await TestBroker.connect()
        let queue = TestBroker.uniqueName("full")
        // A full queue with overflow=reject-publish makes the broker nack.
        try await conn.declare(QueueSpec(queue, durable: false, maxLength: 1, overflow: .rejectPublish))
        try await conn.publish(AMQPMessage("fits"), exchange: "", routingKey: queue)
        await #expect(throws: AMQPError.publishNacked) {
            try await conn.publish(AMQPMessage("does not fit"), exchange: "", routingKey: queue)
        }
        #expect(try await conn.deleteQueue(queue) == 1)
        await conn.close()
    }

    @Test func singleActiveConsumerHandsOverWhenTheActiveOneLeaves() async throws {
        let conn = try await TestBroker.connect()
        let queue = TestBroker.uniqueName("sac")
        try await conn.declare(QueueSpec(queue, type: .quorum, singleActiveConsumer: true))
        let first = try await conn.consume(queue: queue, prefetch: 10)
        let second = try await conn.consume(queue: queue, prefetch: 10)
        let byFirst = Collector<String>(), bySecond = Collector<String>()
        let r1 = Task { for try await d in first { await byFirst.append(String(decoding: d.body, as: UTF8.self)); d.ack() } }
        let r2 = Task { for try await d in second { await bySecond.append(String(decoding: d.body, as: UTF8.self)); d.ack() } }
        for i in 0..<5 { try await conn.publish(AMQPMessage("a\(i)"), exchange: "", routingKey: queue) }
        #expect(await eventually(within: 5) { await byFirst.count == 5 })
        #expect(await bySecond.count == 0)  // only the active consumer receives
        await first.cancel()
        _ = try await r1.value
        for i in 0..<5 { try await conn.publish(AMQPMessage("b\(i)"), exchange: "", routingKey: queue) }
        #expect(await eventually(within: 5) { await bySecond.count == 5 })
        #expect(await byFirst.count == 5)
        await second.cancel()
        _ = try await r2.value
        try await conn.deleteQueue(queue)
        await conn.close()
    }

    @Test func prefetchLimitsUnackedDeliveries() async throws {
        let conn = try await TestBroker.connect()
        let queue = TestBroker.uniqueName("prefetch")
        try await conn.declare(QueueSpec(queue, durable: false))
        for i in 0..<10 { try await conn.publish(AMQPMessage("m\(i)"), exchange: "", routingKey: queue) }
        let consumer = try await conn.consume(queue: queue, prefetch: 3)
        let received = Collector<AMQPDelivery>()
        let reader = Task { for try await d in consumer { await received.append(d) } }
        #expect(await eventually(within: 5) { await received.count == 3 })
        // The broker holds the rest back while three are unacknowledged.
        try await Task.sleep(for: .milliseconds(500))
        #expect(await received.count == 3)
        let firstThree = await received.items
        firstThree[0].ack()
        #expect(await eventually(within: 5) { await received.count == 4 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(await received.count == 4)
        // Ack whatever arrives: the remaining messages flow, three at a time at most.
        let acked = Collector<UInt64>()
        let drained = await eventually(within: 5) {
            for d in await received.items.dropFirst() where !(await acked.items.contains(d.deliveryTag)) {
                d.ack()
                await acked.append(d.deliveryTag)
            }
            return await received.count == 10
        }
        #expect(drained)
        await consumer.cancel()
        _ = try await reader.value
        try await conn.deleteQueue(queue)
        await conn.close()
    }

    @Test func coalescedAcksNeverAckADeliveryStillHeld() async throws {
        let conn = try await TestBroker.connect()
        let queue = TestBroker.uniqueName("coalesce")
        try await conn.declare(QueueSpec(queue, durable: false))
        for i in 0..<50 { try await conn.publish(AMQPMessage("m\(i)"), exchange: "", routingKey: queue) }
        let consumer = try await conn.consume(queue: queue, prefetch: 50)
        var it = consumer.makeAsyncIterator()
        var deliveries: [AMQPDelivery] = []
        for _ in 0..<50 { deliveries.append(try #require(try await it.next())) }
        // Hold the first and the 25th; ack all others in one burst (one batch on the loop thread).
        for (i, d) in deliveries.enumerated() where i != 0 && i != 24 { d.ack() }
        #expect(await deliveries[1].ackAndWait() == false)  // already acked: the tag is no longer held
        await conn.close()
        // Only the two held messages went back to the queue.
        let check = try await TestBroker.connect()
        let declared = try await check.declare(QueueSpec(queue, durable: false))
        #expect(declared.messageCount == 2)
        try await check.deleteQueue(queue)
        await check.close()
    }

    @Test func cancellingRequeuesUnreadDeliveriesAndKeepsReadOnesSettleable() async throws {
        let conn = try await TestBroker.connect()
        let queue = TestBroker.uniqueName("cancel")
        try await conn.declare(QueueSpec(queue, durable: false))
        for i in 0..<10 { try await conn.publish(AMQPMessage("m\(i)"), exchange: "", routingKey: queue) }
        let consumer = try await conn.consume(queue: queue, prefetch: 10)
        var it = consumer.makeAsyncIterator()
        let first = try #require(try await it.next())
        let second = try #require(try await it.next())
        try await Task.sleep(for: .milliseconds(200))  // let the other eight arrive in the buffer
        await consumer.cancel()
        #expect(try await it.next() == nil)  // unread deliveries are not handed out after cancel
        // The two read ones can still be settled; the eight unread ones are back in the queue now.
        #expect(await first.ackAndWait())
        second.reject(requeue: true)
        let check = try await TestBroker.connect()
        #expect(await eventually(within: 5) {
            (try? await check.declare(QueueSpec(queue, durable: false)).messageCount) == 9
        })
        try await check.deleteQueue(queue)
        await check.close()
        await conn.close()
    }

    @Test func propertiesAndTypedHeadersSurviveTheTrip() async throws {
        let conn = try await TestBroker.connect()
        let queue = TestBroker.uniqueName("props")
        try await conn.declare(QueueSpec(queue, durable: false))
        let headers: AMQPFieldTable = [
            "bool": .bool(true), "i8": .int8(-8), "u8": .uint8(200), "i16": .int16(-1600), "u16": .uint16(60000),
            "i32": .int32(-320_000), "u32": .uint32(4_000_000_000), "i64": .int64(-6_400_000_000),
            "float": .float(1.5), "double": .double(-2.25), "decimal": .decimal(decimals: 2, value: 12345),
            "string": .string("héllo ✓"), "bytes": .bytes([0, 1, 2, 255]), "timestamp": .timestamp(1_700_000_000),
            "array": .array([.int32(1), .string("two"), .bool(false)]),
            "table": .table(["nested": .string("yes"), "n": .int64(42)]), "void": .void,
        ]
        let properties = AMQPProperties(
            contentType: "application/json", contentEncoding: "identity", headers: headers, deliveryMode: .persistent,
            priority: 5, correlationId: "corr-1", replyTo: "reply.q", expiration: "60000", messageId: "msg-1",
            timestamp: 1_763_000_000, type: "patchfleet.test", userId: "guest", appId: "amqp-tests")
        let body = Data((0..<2048).map { UInt8($0 % 251) })
        try await conn.publish(AMQPMessage(body: body, properties: properties), exchange: "", routingKey: queue, mandatory: true)
        let consumer = try await conn.consume(queue: queue)
        var it = consumer.makeAsyncIterator()
        let d = try #require(try await it.next())
        #expect(d.body == body)
        #expect(d.properties == properties)
        d.ack()
        await consumer.cancel()
        try await conn.deleteQueue(queue)
        await conn.close()
    }

    @Test func badCredentialsAndUnreachableBrokerGiveTypedErrors() async throws {
        var config = try AMQPConfiguration(url: TestBroker.url)
        config.password = "definitely-wrong"
        do {
            _ = try await AMQPConnection.connect(config, recovery: .disabled)
            Issue.record("login with a wrong password succeeded")
        } catch let error as AMQPError {
            guard case .authenticationFailed(let user, _) = error else { Issue.record("got \(error)"); return }
            #expect(user == "guest")
        }
        var unknownVhost = try AMQPConfiguration(url: TestBroker.url)
        unknownVhost.vhost = "no-such-vhost"
        await #expect(throws: AMQPError.self) { _ = try await AMQPConnection.connect(unknownVhost, recovery: .disabled) }

        let closedPort = try AMQPConfiguration(url: "amqp://guest:guest@127.0.0.1:1/%2f?connection_timeout=2000")
        do {
            _ = try await AMQPConnection.connect(closedPort)
            Issue.record("connected to a closed port")
        } catch let error as AMQPError {
            guard case .connectionFailed(let host, let port, _) = error else { Issue.record("got \(error)"); return }
            #expect(host == "127.0.0.1" && port == 1)
        }
        await #expect(throws: AMQPError.invalidURL("scheme 'http' is not amqp or amqps")) {
            _ = try await AMQPConnection.connect(url: "http://localhost")
        }
    }

    /// Header tables nested past `AMQPFieldTable.maximumNesting` arrive with
    /// a marker in their place, and the rest of the message as it was: a
    /// forged header nested thousands deep must not recurse through us.
    @Test func headersNestedTooDeepArriveMarkedNotRecursedThrough() async throws {
        let conn = try await TestBroker.connect()
        let queue = TestBroker.uniqueName("deep")
        try await conn.declare(QueueSpec(queue, durable: false, autoDelete: true))
        var nested = AMQPFieldValue.string("bottom")
        for _ in 0..<60 { nested = .table(["n": nested]) }
        var message = AMQPMessage("deep body")
        message.properties.headers = ["x-deep": nested, "x-flat": .string("kept")]
        try await conn.publish(message, exchange: "", routingKey: queue)
        let consumer = try await conn.consume(queue: queue, prefetch: 1)
        var iterator = consumer.makeAsyncIterator()
        let delivery = try #require(try await iterator.next())
        #expect(String(decoding: delivery.body, as: UTF8.self) == "deep body")
        #expect(delivery.properties.headers?["x-flat"] == .string("kept"))
        var value = try #require(delivery.properties.headers?["x-deep"])
        var depth = 0
        while case .table(let table) = value, let inner = table["n"] {
            value = inner
            depth += 1
        }
        #expect(value == .tooDeep, "\(value)")
        #expect(depth == AMQPFieldTable.maximumNesting, "tables kept down to the limit: \(depth)")
        delivery.ack()
        await consumer.cancel()
        await conn.close()
    }

    /// Headers too large for a frame: the publish fails with the reason,
    /// before anything reaches the wire, and the connection carries on (it
    /// used to be torn down with every publish in flight).
    @Test func aMessageWhoseHeadersCannotFitAFrameIsRefusedAndTheConnectionKept() async throws {
        let conn = try await TestBroker.connect()
        let queue = TestBroker.uniqueName("big-headers")
        try await conn.declare(QueueSpec(queue, durable: false, autoDelete: true))
        var message = AMQPMessage("body")
        message.properties.headers = ["x-big": .string(String(repeating: "h", count: 200_000))]
        do {
            try await conn.publish(message, exchange: "", routingKey: queue)
            Issue.record("a 200 KB header went out in a 128 KiB frame")
        } catch {
            #expect("\(error)".contains("headers take more than"), "\(error)")
        }
        try await conn.publish(AMQPMessage("after"), exchange: "", routingKey: queue)
        #expect(conn.reconnectCount == 0, "the connection was never lost")
        let consumer = try await conn.consume(queue: queue, prefetch: 1)
        var iterator = consumer.makeAsyncIterator()
        #expect(try await iterator.next().map { String(decoding: $0.body, as: UTF8.self) } == "after")
        await consumer.cancel()
        await conn.close()
    }

    /// A consumer's queue deleted under it: the broker says so (the client
    /// asks for consumer_cancel_notify), the consumer ends with the reason,
    /// and its channel is closed before its number serves another consumer.
    @Test func aDeletedQueueEndsItsConsumerAndTheChannelServesTheNextOne() async throws {
        let conn = try await TestBroker.connect()
        let admin = try await TestBroker.connect()
        let gone = TestBroker.uniqueName("gone")
        let next = TestBroker.uniqueName("next")
        try await conn.declare(QueueSpec(gone, durable: false))
        try await conn.declare(QueueSpec(next, durable: false, autoDelete: true))
        let consumer = try await conn.consume(queue: gone, prefetch: 1)
        let reader = Task { () -> String in
            do {
                for try await _ in consumer {}
                return "ended without an error"
            } catch {
                return "\(error)"
            }
        }
        _ = try await admin.deleteQueue(gone)
        let ending = await reader.value
        #expect(ending.contains(gone), "the consumer ends naming its queue: \(ending)")
        let second = try await conn.consume(queue: next, prefetch: 1)
        try await admin.publish(AMQPMessage("on the reused channel"), exchange: "", routingKey: next)
        var iterator = second.makeAsyncIterator()
        #expect(try await iterator.next().map { String(decoding: $0.body, as: UTF8.self) } == "on the reused channel")
        #expect(conn.reconnectCount == 0)
        await second.cancel()
        await conn.close()
        await admin.close()
    }

    @Test func closedConnectionRefusesFurtherWork() async throws {
        let conn = try await TestBroker.connect()
        let queue = TestBroker.uniqueName("closed")
        try await conn.declare(QueueSpec(queue, durable: false, autoDelete: true))
        let consumer = try await conn.consume(queue: queue)
        let reader = Task { var n = 0; for try await _ in consumer { n += 1 }; return n }
        await conn.close()
        #expect(try await reader.value == 0)  // the sequence ends cleanly on close
        await #expect(throws: AMQPError.closed) {
            try await conn.publish(AMQPMessage("late"), exchange: "", routingKey: queue)
        }
    }
}
