import Foundation
import Logging
import Synchronization

/// A connection to a RabbitMQ broker, safe to share between tasks.
///
/// All calls are async and complete when the broker has answered: a declare
/// when the broker declared, a publish when the broker confirmed it. The
/// connection recovers by itself after a network cut or broker restart
/// (see `RecoveryPolicy`): it reconnects with backoff, re-declares the
/// topology declared through it, and resumes its consumers.
public final class AMQPConnection: Sendable {
    let loop: ConnectionLoop
    public let configuration: AMQPConfiguration
    private let consumerIDs = Atomic<Int>(0)

    private init(loop: ConnectionLoop, configuration: AMQPConfiguration) {
        self.loop = loop
        self.configuration = configuration
    }

    /// Connects and logs in. Throws a typed `AMQPError` if the broker cannot be
    /// reached or refuses the login: the first connect is not retried, so a
    /// wrong URL or password fails fast instead of hanging.
    public static func connect(_ configuration: AMQPConfiguration, recovery: RecoveryPolicy = .default,
                               logger: Logger = Logger(label: "amqp")) async throws -> AMQPConnection {
        let loop = ConnectionLoop(configuration: configuration, recovery: recovery, logger: logger)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            loop.start { continuation.resume(with: $0.mapError { $0 }) }
        }
        return AMQPConnection(loop: loop, configuration: configuration)
    }

    /// Connects using an `amqp://` or `amqps://` URL.
    public static func connect(url: String, recovery: RecoveryPolicy = .default,
                               logger: Logger = Logger(label: "amqp")) async throws -> AMQPConnection {
        try await connect(try AMQPConfiguration(url: url), recovery: recovery, logger: logger)
    }

    deinit {
        loop.enqueue(.close { _ in })
    }

    private func call<T: Sendable>(_ make: (@escaping Completion<T>) -> LoopCommand) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            loop.enqueue(make { continuation.resume(with: $0.mapError { $0 }) })
        }
    }

    // MARK: Topology

    public func declare(_ exchange: ExchangeSpec) async throws {
        _ = try await call { .declare(.exchange(exchange), $0) }
    }

    @discardableResult
    public func declare(_ queue: QueueSpec) async throws -> QueueDeclareResult {
        let result = try await call { .declare(.queue(queue), $0) }
        return result ?? QueueDeclareResult(name: queue.name, messageCount: 0, consumerCount: 0)
    }

    public func bind(_ binding: QueueBinding) async throws {
        _ = try await call { .declare(.binding(binding), $0) }
    }

    public func unbind(_ binding: QueueBinding) async throws {
        _ = try await call { .declare(.unbinding(binding), $0) }
    }

    /// Declares exchanges, then queues, then bindings.
    public func declare(_ topology: Topology) async throws {
        for e in topology.exchanges { try await declare(e) }
        for q in topology.queues { try await declare(q) }
        for b in topology.bindings { try await bind(b) }
    }

    /// Deletes a queue; returns how many messages it held.
    @discardableResult
    public func deleteQueue(_ name: String) async throws -> Int {
        try await call { .deleteQueue(name, $0) }
    }

    public func deleteExchange(_ name: String) async throws {
        try await call { .deleteExchange(name, $0) }
    }

    /// Removes every ready message from a queue; returns how many.
    @discardableResult
    public func purgeQueue(_ name: String) async throws -> Int {
        try await call { .purgeQueue(name, $0) }
    }

    // MARK: Publishing

    /// Publishes and waits for the broker's confirm. Throws `.publishNacked`
    /// if the broker refused it, `.unroutable` if `mandatory` and no queue took
    /// it, or `.connectionLost` if the connection dropped first (unless
    /// `onConnectionLoss` is `.republish`).
    public func publish(_ message: AMQPMessage, exchange: String, routingKey: String, mandatory: Bool = false,
                        onConnectionLoss: UnconfirmedPublishPolicy = .fail) async throws {
        try await call { done in
            .publish(OutboundPublish(exchange: exchange, routingKey: routingKey, mandatory: mandatory,
                                     message: message, onConnectionLoss: onConnectionLoss, completion: done))
        }
    }

    /// One message of a batch publish.
    public struct Publication: Sendable {
        public var message: AMQPMessage
        public var exchange: String
        public var routingKey: String
        public var mandatory: Bool

        public init(_ message: AMQPMessage, exchange: String, routingKey: String, mandatory: Bool = false) {
            self.message = message
            self.exchange = exchange
            self.routingKey = routingKey
            self.mandatory = mandatory
        }
    }

    /// Publishes many messages at once (one wake-up of the connection thread)
    /// and waits for every confirm; results are in the same order.
    public func publish(batch: [Publication], onConnectionLoss: UnconfirmedPublishPolicy = .fail) async
        -> [Result<Void, AMQPError>]
    {
        guard !batch.isEmpty else { return [] }
        return await withCheckedContinuation { (continuation: CheckedContinuation<[Result<Void, AMQPError>], Never>) in
            let collector = BatchCollector(count: batch.count, continuation: continuation)
            loop.enqueue(contentsOf: batch.enumerated().map { index, p in
                LoopCommand.publish(OutboundPublish(
                    exchange: p.exchange, routingKey: p.routingKey, mandatory: p.mandatory, message: p.message,
                    onConnectionLoss: onConnectionLoss, completion: { collector.record(index, $0) }))
            })
        }
    }

    // MARK: Consuming

    /// Starts a consumer on its own channel with `prefetch` unacknowledged
    /// deliveries at most. Deliveries must be settled (ack/nack/reject).
    /// The consumer survives reconnects; it ends when cancelled, when the
    /// connection closes, or (throwing) when the broker cancels it.
    public func consume(queue: String, prefetch: UInt16 = 10, exclusive: Bool = false, consumerTag: String? = nil,
                        arguments: AMQPFieldTable = [:]) async throws -> AMQPConsumer {
        let id = consumerIDs.add(1, ordering: .relaxed).newValue
        let tag = consumerTag ?? "consumer-\(id)-\(UUID().uuidString.prefix(8))"
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: AMQPDelivery.self)
        let loop = self.loop
        continuation.onTermination = { reason in
            if case .cancelled = reason { loop.enqueue(.cancelConsumer(id: id, nil)) }
        }
        let ledger = DeliveryLedger()
        let request = ConsumerRequest(id: id, queue: queue, prefetch: prefetch, exclusive: exclusive,
                                      arguments: arguments, tag: tag, continuation: continuation, ledger: ledger)
        let _: Void = try await call { .consume(request, $0) }
        return AMQPConsumer(stream: stream, id: id, tag: tag, loop: loop, ledger: ledger)
    }

    // MARK: Life cycle

    /// Cancels the consumers, closes the channels and the connection. Publishes
    /// still awaiting a confirm fail with `.closed`.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.enqueue(.close { _ in continuation.resume() })
        }
    }

    /// Connection life-cycle events (each call returns a new subscription).
    public func events() -> AsyncStream<AMQPConnectionEvent> { loop.subscribe() }

    /// How many times the connection was re-established after a loss.
    public var reconnectCount: Int { loop.reconnects.load(ordering: .relaxed) }
}

/// Gathers the results of a batch publish and resumes its waiter once.
private final class BatchCollector: Sendable {
    private struct State {
        var results: [Result<Void, AMQPError>?]
        var remaining: Int
        var continuation: CheckedContinuation<[Result<Void, AMQPError>], Never>?
    }
    private let state: Mutex<State>

    init(count: Int, continuation: CheckedContinuation<[Result<Void, AMQPError>], Never>) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count, continuation: continuation))
    }

    func record(_ index: Int, _ result: Result<Void, AMQPError>) {
        let finished = state.withLock { s -> (CheckedContinuation<[Result<Void, AMQPError>], Never>, [Result<Void, AMQPError>])? in
            s.results[index] = result
            s.remaining -= 1
            guard s.remaining == 0, let c = s.continuation else { return nil }
            s.continuation = nil
            return (c, s.results.map { $0! })
        }
        if let (continuation, results) = finished { continuation.resume(returning: results) }
    }
}
