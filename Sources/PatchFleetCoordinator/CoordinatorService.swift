import AMQP
import Foundation
import Logging
import PatchFleetCore
import PatchFleetStore
import PatchFleetWire
import Synchronization

/// The coordinator process: consumes job submissions/controls and results,
/// runs the scheduler on a timer, and publishes the outbox with confirms.
/// Every input is acked only after its effect is committed to the store;
/// every output leaves the outbox only after the broker confirmed it.
public final class CoordinatorService: Sendable {
    public let engine: CoordinatorEngine
    let connection: AMQPConnection
    let store: any SagaStore
    let topology: FleetTopology
    let now: @Sendable () -> Instant
    let tickInterval: Duration
    let logger: Logger
    private let decoder = WireDecoder()
    private let consumers = Mutex<[AMQPConsumer]>([])
    private let stopping = Atomic<Bool>(false)

    public init(engine: CoordinatorEngine, connection: AMQPConnection, store: any SagaStore, topology: FleetTopology,
                now: @escaping @Sendable () -> Instant, tickInterval: Duration = .milliseconds(250),
                logger: Logger = Logger(label: "patchfleet.coordinator")) {
        self.engine = engine
        self.connection = connection
        self.store = store
        self.topology = topology
        self.now = now
        self.tickInterval = tickInterval
        self.logger = logger
    }

    public func run() async throws {
        try await connection.declare(topology.topology)
        let jobs = try await connection.consume(queue: topology.jobsQueue, prefetch: 8)
        let results = try await connection.consume(queue: topology.resultsQueue, prefetch: 64)
        consumers.withLock { $0 = [jobs, results] }
        logger.notice("coordinator running")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await delivery in jobs { await self.handleJobMessage(delivery) }
            }
            group.addTask {
                for try await delivery in results { await self.handleResult(delivery) }
            }
            group.addTask { await self.loop { await self.engine.tick() } }
            group.addTask { await self.loop { await self.dispatchOutbox() } }
            // The consumers end on shutdown; then stop the timers.
            try await group.next()
            try await group.next()
            group.cancelAll()
        }
        await dispatchOutbox()  // what the last inputs produced
        logger.notice("coordinator stopped")
    }

    public func shutdown() async {
        stopping.store(true, ordering: .releasing)
        for consumer in consumers.withLock({ $0 }) { await consumer.cancel() }
    }

    private func loop(_ body: @Sendable () async -> Void) async {
        while !Task.isCancelled && !stopping.load(ordering: .acquiring) {
            await body()
            try? await Task.sleep(for: tickInterval)
        }
    }

    /// Publishes ready outbox messages in one confirmed batch and marks the
    /// confirmed ones; the rest stay for the next round (at-least-once).
    func dispatchOutbox() async {
        do {
            let pending = try await store.pendingOutbox(limit: 500, readyAt: now())
            guard !pending.isEmpty else { return }
            var ready: [(String, AMQPConnection.Publication)] = []
            for entry in pending {
                do {
                    ready.append((entry.id, try OutboxEntry.publication(entry, topology: topology)))
                } catch {
                    logger.error("outbox entry \(entry.id) cannot be encoded: \(error)")
                }
            }
            let results = await connection.publish(batch: ready.map(\.1))
            let confirmed = zip(ready, results).compactMap { pair -> String? in
                if case .success = pair.1 { return pair.0.0 }
                logger.warning("publishing \(pair.0.0) failed; it stays in the outbox: \(pair.1)")
                return nil
            }
            try await store.markPublished(ids: confirmed, at: now())
        } catch {
            logger.error("outbox dispatch failed: \(error)")
        }
    }

    private func handleJobMessage(_ delivery: AMQPDelivery) async {
        let decoded: DecodedMessage
        do { decoded = try decoder.decode(delivery) } catch {
            await refuse(delivery, queue: topology.jobsQueue, reason: error.description, jobId: nil)
            return
        }
        switch decoded {
        case .jobSubmission(let submission, let envelope):
            switch await engine.submit(submission, messageId: envelope.messageId, body: delivery.body) {
            case .accepted, .duplicate:
                await dispatchOutbox()
                delivery.ack()
            case .rejected(let problems):
                await publishRejection(submission.job.id, envelope: envelope, problems: problems)
                await refuse(delivery, queue: topology.jobsQueue,
                             reason: problems.map(\.description).joined(separator: "; "), jobId: submission.job.id)
            }
        case .jobControl(let request, _):
            switch await engine.control(request) {
            case .applied:
                await dispatchOutbox()
                delivery.ack()
            case .refused(let reason):
                await refuse(delivery, queue: topology.jobsQueue, reason: reason, jobId: request.jobId)
            }
        default:
            await refuse(delivery, queue: topology.jobsQueue, reason: "expected a job submission or control message", jobId: nil)
        }
    }

    private func handleResult(_ delivery: AMQPDelivery) async {
        let decoded: DecodedMessage
        do { decoded = try decoder.decode(delivery) } catch {
            await refuse(delivery, queue: topology.resultsQueue, reason: error.description, jobId: nil)
            return
        }
        guard case .result(let result, let envelope) = decoded else {
            await refuse(delivery, queue: topology.resultsQueue, reason: "expected a patchfleet.result message", jobId: nil)
            return
        }
        switch await engine.apply(result, messageId: envelope.messageId) {
        case .applied:
            await dispatchOutbox()
            delivery.ack()
        case .duplicate, .stale:
            delivery.ack()
        case .refused(let reason):
            await refuse(delivery, queue: topology.resultsQueue, reason: reason, jobId: result.task.jobId)
        }
    }

    /// The `job.rejected` event (and a reply to `reply_to`, if the submitter gave one).
    private func publishRejection(_ jobId: String, envelope: Envelope, problems: [ValidationProblem]) async {
        let event = FleetEvent(at: now(), .jobRejected(JobRejection(jobId: jobId, submissionMessageId: envelope.messageId,
                                                                    problems: problems)))
        do {
            let message = try WireEncoder.encode(event, causationId: envelope.messageId)
            let publication = try topology.event(event, message)
            try await connection.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey)
            if let replyTo = envelope.replyTo {
                var reply = message
                reply.properties.correlationId = envelope.messageId
                try await connection.publish(reply, exchange: "", routingKey: replyTo)
            }
        } catch {
            logger.error("could not publish the rejection of job \(jobId): \(error)")
        }
    }

    /// Dead-letters with the reason (confirmed), then acks: never dropped.
    private func refuse(_ delivery: AMQPDelivery, queue: String, reason: String, jobId: String?) async {
        logger.warning("refusing a message from \(queue)\(jobId.map { " (job \($0))" } ?? ""): \(reason)")
        if await !connection.deadLetter(delivery, from: queue, reason: reason, topology: topology) {
            logger.error("could not publish the dead-letter copy; rejected so the queue's own dead-lettering keeps it")
        }
    }
}
