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
    /// Signs tasks and timers, verifies results; nil runs unsigned (warned at start).
    let signer: MessageSigner?
    /// Saga seconds per wall-clock second, to stamp tasks with wall-clock deadlines.
    let timeScale: Double
    /// Wall-clock seconds a task's deadline is never closer than (the same
    /// floor the engine puts under saga-level timeouts).
    let minimumTaskWallSeconds: Double
    private let decoder = WireDecoder()
    private let consumers = Mutex<[AMQPConsumer]>([])
    /// One dispatch at a time: two concurrent rounds would read the same
    /// pending entries and publish them twice (a worker would then run one
    /// task twice in parallel). A round asked for while one runs is folded
    /// into one more pass of the running round.
    private let dispatch = Mutex<(running: Bool, again: Bool)>((false, false))
    private let stopping = Atomic<Bool>(false)
    /// Results in hand at once: also the largest batch applied in one store transaction.
    static let resultsPrefetch = 64

    public init(engine: CoordinatorEngine, connection: AMQPConnection, store: any SagaStore, topology: FleetTopology,
                now: @escaping @Sendable () -> Instant, tickInterval: Duration = .milliseconds(250),
                signer: MessageSigner? = nil, timeScale: Double = 1, minimumTaskWallSeconds: Double = 0,
                logger: Logger = Logger(label: "patchfleet.coordinator")) {
        self.minimumTaskWallSeconds = minimumTaskWallSeconds
        self.signer = signer
        self.timeScale = timeScale
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
        let results = try await connection.consume(queue: topology.resultsQueue, prefetch: UInt16(Self.resultsPrefetch))
        let queries = try await connection.consume(queue: topology.queriesQueue, prefetch: 16)
        consumers.withLock { $0 = [jobs, results, queries] }
        if signer == nil {
            logger.warning("tasks and results are NOT signed: any broker user allowed to publish to the tasks exchange can command the workers (give a keyring)")
        }
        logger.notice("coordinator running")
        let resultBatches = DeliveryBatches()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await delivery in jobs { await self.handleJobMessage(delivery) }
            }
            group.addTask { try await resultBatches.pump(results) }
            group.addTask {
                while let batch = await resultBatches.next(max: Self.resultsPrefetch) { await self.handleResults(batch) }
            }
            group.addTask {
                for try await delivery in queries { await self.handleQuery(delivery) }
            }
            // Often enough to run the ticks finished hosts are owed soon after
            // they are due (see `CoordinatorEngine.minimumTickSpacing`); what a
            // tick started is published at once, not at the next dispatch round.
            group.addTask {
                await self.loop(every: .milliseconds(50)) {
                    if await self.engine.tickIfDue(interval: self.tickInterval) { await self.dispatchOutbox() }
                }
            }
            group.addTask { await self.loop { await self.dispatchOutbox() } }
            group.addTask { await self.loop(every: .seconds(2)) { await self.sampleMetrics() } }
            // The consumers (and the results' batches) end on shutdown; then stop the timers.
            for _ in 0..<4 { try await group.next() }
            group.cancelAll()
        }
        await dispatchOutbox()  // what the last inputs produced
        logger.notice("coordinator stopped")
    }

    public func shutdown() async {
        stopping.store(true, ordering: .releasing)
        for consumer in consumers.withLock({ $0 }) { await consumer.cancel() }
    }

    private func loop(every interval: Duration? = nil, _ body: @Sendable () async -> Void) async {
        while !Task.isCancelled && !stopping.load(ordering: .acquiring) {
            await body()
            try? await Task.sleep(for: interval ?? tickInterval)
        }
    }

    /// The gauges: hosts by phase, jobs by state, tasks in flight from the
    /// store; queue depths from the broker (a redeclare of the same queue
    /// answers with its message count).
    private func sampleMetrics() async {
        let metrics = engine.metrics
        do {
            let (jobs, sagas) = try await engine.unfinishedJobsAndSagas()
            metrics.sample(jobs: jobs, sagas: sagas)
        } catch {
            logger.debug("metrics: cannot read the store: \(error)")
        }
        let watched = Set(Role.allCases.map { topology.taskQueue($0) } + [topology.resultsQueue, topology.jobsQueue, topology.deadQueue])
        for queue in topology.queues where watched.contains(queue.name) {
            if let declared = try? await connection.declare(queue) {
                metrics.queueDepth(queue.name, messages: declared.messageCount)
            }
        }
    }

    /// Publishes ready outbox messages in confirmed batches and marks the
    /// confirmed ones; the rest stay for the next round (at-least-once).
    /// Single-flight: see `dispatch`.
    func dispatchOutbox() async {
        let mine = dispatch.withLock { state -> Bool in
            if state.running {
                state.again = true
                return false
            }
            state.running = true
            return true
        }
        guard mine else { return }
        while true {
            await dispatchRound()
            let more = dispatch.withLock { state -> Bool in
                if state.again {
                    state.again = false
                    return true
                }
                state.running = false
                return false
            }
            if !more { return }
        }
    }

    private func dispatchRound() async {
        do {
            let pending = try await store.pendingOutbox(limit: 500, readyAt: now())
            guard !pending.isEmpty else { return }
            var ready: [(String, AMQPConnection.Publication)] = []
            for entry in pending {
                do {
                    ready.append((entry.id, try OutboxEntry.publication(entry, topology: topology, signer: signer,
                                                                        wallClock: wallClock)))
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

    /// A saga-time instant on the wall clock (the saga clock runs `timeScale` times faster).
    private func wallClock(_ sagaTime: Instant) -> Instant {
        let ahead = sagaTime.seconds(since: now()) / timeScale
        return Instant(secondsSinceEpoch: Date().timeIntervalSince1970 + max(ahead, minimumTaskWallSeconds))
    }

    private func handleJobMessage(_ delivery: AMQPDelivery) async {
        let decoded: DecodedMessage
        do { decoded = try decoder.decode(delivery) } catch {
            await answerUndecodableSubmission(delivery, error: error)
            await refuse(delivery, queue: topology.jobsQueue, reason: error.description, jobId: nil)
            return
        }
        switch decoded {
        case .jobSubmission(let submission, let envelope):
            let outcome = await engine.submit(submission, messageId: envelope.messageId, body: delivery.body,
                                              user: delivery.properties.userId)
            switch outcome {
            case .accepted, .duplicate:
                await dispatchOutbox()
                delivery.ack()
            case .rejected(let problems), .refused(let problems):
                let announce = if case .rejected = outcome { true } else { false }
                await publishRejection(jobId: submission.job.id, messageId: envelope.messageId, replyTo: envelope.replyTo,
                                       problems: problems, announce: announce)
                await refuse(delivery, queue: topology.jobsQueue,
                             reason: problems.map(\.description).joined(separator: "; "), jobId: submission.job.id)
            }
        case .jobControl(let request, _):
            switch await engine.control(request, user: delivery.properties.userId) {
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

    /// Verifies and decodes each result (refusing the bad ones one by one),
    /// applies the rest in one store transaction, publishes what they
    /// produced, then acks: every ack still follows its result's commit.
    private func handleResults(_ batch: [AMQPDelivery]) async {
        var valid: [(delivery: AMQPDelivery, result: ResultMessage, messageId: String)] = []
        for delivery in batch {
            if let signer {
                do throws(SigningError) { try signer.verify(delivery.properties, body: delivery.body) } catch {
                    await refuse(delivery, queue: topology.resultsQueue, reason: "result refused: \(error)", jobId: nil)
                    continue
                }
            }
            let decoded: DecodedMessage
            do { decoded = try decoder.decode(delivery) } catch {
                await refuse(delivery, queue: topology.resultsQueue, reason: error.description, jobId: nil)
                continue
            }
            guard case .result(let result, let envelope) = decoded else {
                await refuse(delivery, queue: topology.resultsQueue, reason: "expected a patchfleet.result message", jobId: nil)
                continue
            }
            valid.append((delivery, result, envelope.messageId))
        }
        guard !valid.isEmpty else { return }
        let outcomes = await engine.apply(batch: valid.map { ($0.result, $0.messageId) })
        if outcomes.contains(.applied) { await dispatchOutbox() }
        for (item, outcome) in zip(valid, outcomes) {
            engine.metrics.result(outcome)
            switch outcome {
            case .applied, .duplicate, .stale:
                item.delivery.ack()
            case .refused(let reason):
                await refuse(item.delivery, queue: topology.resultsQueue, reason: reason, jobId: item.result.task.jobId)
            }
        }
    }

    /// Answers a status question on its `reply_to`, correlated by the
    /// question's message id. Read-only: nothing to commit before the ack.
    private func handleQuery(_ delivery: AMQPDelivery) async {
        let decoded: DecodedMessage
        do { decoded = try decoder.decode(delivery) } catch {
            await refuse(delivery, queue: topology.queriesQueue, reason: error.description, jobId: nil)
            return
        }
        guard case .jobQuery(let query, let envelope) = decoded else {
            await refuse(delivery, queue: topology.queriesQueue, reason: "expected a patchfleet.job.query message", jobId: nil)
            return
        }
        guard let replyTo = envelope.replyTo, !replyTo.isEmpty else {
            await refuse(delivery, queue: topology.queriesQueue, reason: "a job query needs reply_to: there is nowhere to answer", jobId: query.jobId)
            return
        }
        let reply = await engine.status(query)
        do {
            let answer = topology.answer(try Self.answer(reply, causationId: envelope.messageId),
                                         replyTo: replyTo, correlationId: envelope.messageId)
            try await connection.publish(answer.message, exchange: answer.exchange, routingKey: answer.routingKey)
        } catch {
            // The asker is gone (its reply queue with it) or the broker failed: a read, nothing to keep.
            logger.info("could not answer a status query on \(replyTo): \(error)")
        }
        delivery.ack()
    }

    /// The answer's message: with the run report while it fits
    /// `JobStatusReply.maximumBytes`, else without it, saying where to read it.
    static func answer(_ reply: JobStatusReply, causationId: String,
                       limit: Int = JobStatusReply.maximumBytes) throws(WireError) -> AMQPMessage {
        let message = try WireEncoder.encode(reply, causationId: causationId)
        guard message.body.count > limit, reply.report != nil, let job = reply.jobs.first else { return message }
        func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        var shorter = reply
        shorter.report = nil
        shorter.problem = "the run report of job \(job.id) is \(mib(message.body.count)), over the \(mib(limit)) one answer may carry: "
            + "read it from the coordinator's store (patchfleet report \(job.id) --store FILE), "
            + "or from its --reports-dir once the job has ended"
        return try WireEncoder.encode(shorter, causationId: causationId)
    }

    /// Dead-letters with the reason (confirmed), then acks: never dropped.
    func refuse(_ delivery: AMQPDelivery, queue: String, reason: String, jobId: String?) async {
        logger.warning("refusing a message from \(queue)\(jobId.map { " (job \($0))" } ?? ""): \(reason)")
        if await !connection.deadLetter(delivery, from: queue, reason: reason, topology: topology) {
            logger.error("could not publish the dead-letter copy; rejected so the queue's own dead-lettering keeps it")
        }
    }
}
