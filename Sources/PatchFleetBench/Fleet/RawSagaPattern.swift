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

    /// Returns the elapsed seconds.
    func run(connection: AMQPConnection, tasks: Int, timers: Int, events: Int, bodySize: Int, window: Int) async throws -> Double {
        let taskQueue = "\(prefix).raw.tasks", resultQueue = "\(prefix).raw.results", exchange = "\(prefix).raw.events"
        _ = try await connection.declare(QueueSpec(taskQueue, type: .quorum))
        _ = try await connection.declare(QueueSpec(resultQueue, type: .quorum))
        try await connection.declare(ExchangeSpec(exchange, kind: .topic))
        var error = [CChar](repeating: 0, count: 256)
        let elapsed = error.withUnsafeMutableBufferPointer { buffer in
            raw_saga_steps(config.host, Int32(config.port), config.user, config.password, taskQueue, resultQueue, exchange,
                           Int32(tasks), Int32(timers), Int32(events), Int32(bodySize), Int32(window), buffer.baseAddress!)
        }
        _ = try? await connection.deleteQueue(taskQueue)
        _ = try? await connection.deleteQueue(resultQueue)
        try? await connection.deleteExchange(exchange)
        guard elapsed >= 0 else {
            throw BenchError("raw librabbitmq: " + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return elapsed
    }
}
