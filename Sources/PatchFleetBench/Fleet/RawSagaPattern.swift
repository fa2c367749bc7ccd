import AMQP
import CRawAMQPBench
import Foundation

/// The broker's ceiling for the message pattern a fleet run produced: the
/// same number of tasks, timers and events, the same queue type (quorum,
/// persistent), the same parallelism, through `raw_saga_steps` (C, one
/// blocking librabbitmq connection; see Sources/CRawAMQPBench).
struct RawSagaPattern {
    let config: AMQPConfiguration
    let prefix: String

    /// Returns the elapsed seconds. `calls`: backend calls the tasks make
    /// in all, as request/reply pairs on classic queues like the lab's.
    func run(connection: AMQPConnection, tasks: Int, timers: Int, events: Int, calls: Int = 0, bodySize: Int,
             window: Int) async throws -> Double {
        let taskQueue = "\(prefix).raw.tasks", resultQueue = "\(prefix).raw.results", exchange = "\(prefix).raw.events"
        let callQueue = "\(prefix).raw.calls", replyQueue = "\(prefix).raw.replies"
        _ = try await connection.declare(QueueSpec(taskQueue, type: .quorum))
        _ = try await connection.declare(QueueSpec(resultQueue, type: .quorum))
        if calls > 0 {
            _ = try await connection.declare(QueueSpec(callQueue, durable: true))
            _ = try await connection.declare(QueueSpec(replyQueue, durable: false))
        }
        try await connection.declare(ExchangeSpec(exchange, kind: .topic))
        var error = [CChar](repeating: 0, count: 256)
        let elapsed = error.withUnsafeMutableBufferPointer { buffer in
            raw_saga_steps(config.host, Int32(config.port), config.user, config.password, taskQueue, resultQueue, exchange,
                           callQueue, replyQueue, Int32(tasks), Int32(timers), Int32(events), Int32(calls), Int32(bodySize),
                           Int32(window), buffer.baseAddress!)
        }
        for queue in [taskQueue, resultQueue, callQueue, replyQueue] { _ = try? await connection.deleteQueue(queue) }
        try? await connection.deleteExchange(exchange)
        guard elapsed >= 0 else {
            throw BenchError("raw librabbitmq: " + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return elapsed
    }
}
