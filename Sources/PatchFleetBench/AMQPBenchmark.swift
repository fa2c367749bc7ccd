import AMQP
import ArgumentParser
import CRawAMQPBench
import Foundation
import Logging

/// `patchfleet-bench amqp`: the Swift AMQP layer against a minimal raw
/// librabbitmq loop, same broker, same message pattern, same run.
struct AMQPBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amqp",
        abstract: "Confirmed-publish and consume+ack throughput, and round-trip latency: Swift layer vs raw librabbitmq.")

    @Option(help: "Broker URL (the private broker by default).")
    var url = ProcessInfo.processInfo.environment["PATCHFLEET_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5682/%2f"
    @Option(help: "Messages per throughput measurement.")
    var messages = 50_000
    @Option(help: "Body size in bytes.")
    var size = 256
    @Option(help: "Unconfirmed publishes allowed in flight.")
    var window = 1_000
    @Option(help: "Consumer prefetch.")
    var prefetch: UInt16 = 500
    @Option(help: "Sequential round trips for the latency measurement.")
    var trips = 2_000
    @Option(help: "Repetitions of each measurement (the best is kept).")
    var repeats = 2

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let config = try AMQPConfiguration(url: url)
        let connection = try await AMQPConnection.connect(config)
        let queue = "bench.amqp"
        try await connection.declare(QueueSpec(queue, durable: false))
        try await connection.purgeQueue(queue)
        let raw = RawClient(config: config, queue: queue)
        let body = Data(repeating: UInt8(ascii: "x"), count: size)

        print("amqp benchmark: \(messages) messages of \(size) B, window \(window), prefetch \(prefetch), broker \(config.redactedURL)")
        var best = (rawPublish: 0.0, swiftPublish: 0.0, rawConsume: 0.0, swiftConsume: 0.0)
        for round in 1...repeats {
            // Publish (fills the queue), then consume it all, for each client in turn.
            let rp = try raw.publish(count: messages, size: size, window: window)
            let rc = try raw.consume(count: messages, prefetch: Int(prefetch))
            let sp = try await swiftPublish(connection, queue: queue, body: body)
            let sc = try await swiftConsume(connection, queue: queue)
            print(String(format: "  round %d: publish raw %9.0f/s swift %9.0f/s | consume raw %9.0f/s swift %9.0f/s",
                         round, rp, sp, rc, sc))
            best = (max(best.rawPublish, rp), max(best.swiftPublish, sp), max(best.rawConsume, rc), max(best.swiftConsume, sc))
        }
        let rawLatency = try raw.roundTrips(count: trips)
        let swiftLatency = try await swiftRoundTrips(connection, queue: queue)
        await connection.close()

        print("")
        print("                         raw librabbitmq      swift AMQP")
        print(String(format: "publish confirmed msg/s  %15.0f %15.0f", best.rawPublish, best.swiftPublish))
        print(String(format: "consume+ack msg/s        %15.0f %15.0f", best.rawConsume, best.swiftConsume))
        print(String(format: "round trip p50 (us)      %15.1f %15.1f", rawLatency.p50 * 1e6, swiftLatency.p50 * 1e6))
        print(String(format: "round trip p99 (us)      %15.1f %15.1f", rawLatency.p99 * 1e6, swiftLatency.p99 * 1e6))
        print(String(format: "ratio swift/raw publish = %.2f", best.swiftPublish / best.rawPublish))
        print(String(format: "ratio swift/raw consume = %.2f", best.swiftConsume / best.rawConsume))
    }

    /// Confirmed publishes with at most `window` in flight (a sliding window).
    private func swiftPublish(_ connection: AMQPConnection, queue: String, body: Data) async throws -> Double {
        let message = AMQPMessage(body: body, properties: AMQPProperties(deliveryMode: .transient))
        let start = monotonicSeconds()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<messages {
                if i >= window { try await group.next() }
                group.addTask { try await connection.publish(message, exchange: "", routingKey: queue) }
            }
            try await group.waitForAll()
        }
        return Double(messages) / (monotonicSeconds() - start)
    }

    private func swiftConsume(_ connection: AMQPConnection, queue: String) async throws -> Double {
        let consumer = try await connection.consume(queue: queue, prefetch: prefetch)
        let start = monotonicSeconds()
        var received = 0
        for try await delivery in consumer {
            delivery.ack()
            received += 1
            if received == messages { break }
        }
        let elapsed = monotonicSeconds() - start
        await consumer.cancel()
        return Double(messages) / elapsed
    }

    private func swiftRoundTrips(_ connection: AMQPConnection, queue: String) async throws -> Latencies {
        let consumer = try await connection.consume(queue: queue, prefetch: 1)
        var iterator = consumer.makeAsyncIterator()
        var samples: [Double] = []
        samples.reserveCapacity(trips)
        let ping = AMQPMessage("ping", properties: AMQPProperties(deliveryMode: .transient))
        for _ in 0..<trips {
            let t0 = monotonicSeconds()
            async let confirmed: Void = connection.publish(ping, exchange: "", routingKey: queue)
            guard let delivery = try await iterator.next() else { throw BenchError("consumer ended early") }
            try await confirmed
            delivery.ack()
            samples.append(monotonicSeconds() - t0)
        }
        await consumer.cancel()
        return Latencies(samples)
    }
}

/// The raw C baseline, called with the same parameters.
struct RawClient {
    let config: AMQPConfiguration
    let queue: String

    private func call(_ body: (UnsafeMutablePointer<CChar>) -> Double) throws -> Double {
        var error = [CChar](repeating: 0, count: 256)
        let elapsed = error.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
        guard elapsed >= 0 else { throw BenchError("raw librabbitmq: " + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        return elapsed
    }

    func publish(count: Int, size: Int, window: Int) throws -> Double {
        let elapsed = try call {
            raw_publish_confirmed(config.host, Int32(config.port), config.user, config.password, queue,
                                  Int32(count), Int32(size), Int32(window), $0)
        }
        return Double(count) / elapsed
    }

    func consume(count: Int, prefetch: Int) throws -> Double {
        let elapsed = try call {
            raw_consume_ack(config.host, Int32(config.port), config.user, config.password, queue, Int32(count),
                            Int32(prefetch), $0)
        }
        return Double(count) / elapsed
    }

    func roundTrips(count: Int) throws -> Latencies {
        var samples = [Double](repeating: 0, count: count)
        _ = try samples.withUnsafeMutableBufferPointer { buffer in
            try call {
                raw_round_trips(config.host, Int32(config.port), config.user, config.password, queue, Int32(count),
                                buffer.baseAddress!, $0)
            }
        }
        return Latencies(samples)
    }
}

struct Latencies {
    let p50: Double
    let p99: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        p50 = sorted[sorted.count / 2]
        p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
