import AMQP
import Foundation
import Logging
import PatchFleetCore
import PatchFleetWire
import Synchronization

/// A worker process's main loop: consumes the task queues of its roles,
/// carries out each task with `CommandExecutor`, publishes the result and
/// waits for the broker's confirm, and only then acks the task. A task that
/// cannot be decoded, belongs to another role or is past its deadline is
/// dead-lettered with the reason (published, confirmed, then acked): it is
/// never dropped and never crashes the worker.
public final class WorkerService: Sendable {
    public let connection: AMQPConnection
    public let topology: FleetTopology
    public let roles: [Role]
    /// Tasks carried out at once, per role (the consumer's prefetch).
    public let concurrency: Int
    public let executor: CommandExecutor
    /// Whether `run()` declares the fleet topology first. A worker with a
    /// least-privilege broker user (deploy/rabbitmq/definitions.json) may not:
    /// declaring, even an identical redeclare, needs configure permission, so
    /// the coordinator declares and the worker only consumes what is there.
    public let declaresTopology: Bool
    private let decoder = WireDecoder()
    private let logger: Logger
    /// Verifies tasks and signs results; nil runs unsigned (warned at start).
    private let signer: MessageSigner?
    private let consumers = Mutex<[AMQPConsumer]>([])
    private let stopping = Atomic<Bool>(false)
    private let metrics = WorkerMetrics()

    public init(connection: AMQPConnection, topology: FleetTopology = FleetTopology(), roles: [Role], concurrency: Int,
                executor: CommandExecutor, declaresTopology: Bool = true, signer: MessageSigner? = nil,
                logger: Logger = Logger(label: "patchfleet.worker")) {
        self.signer = signer
        self.connection = connection
        self.topology = topology
        self.roles = roles
        self.concurrency = max(1, concurrency)
        self.executor = executor
        self.declaresTopology = declaresTopology
        self.logger = logger
    }

    /// Runs until `shutdown()`; returns once every task in hand is finished.
    public func run() async throws {
        if declaresTopology { try await connection.declare(topology.topology) }
        var started: [(Role, AMQPConsumer)] = []
        for role in roles {
            let consumer = try await connection.consume(queue: topology.taskQueue(role), prefetch: UInt16(min(concurrency, 65_535)),
                                                        consumerTag: "worker-\(role.rawValue)-\(ProcessInfo.processInfo.processIdentifier)")
            started.append((role, consumer))
        }
        consumers.withLock { $0 = started.map(\.1) }
        if signer == nil {
            logger.warning("tasks are NOT verified: this worker acts on any task on its queues (give a keyring)")
        }
        if stopping.load(ordering: .acquiring) { await cancelConsumers() }
        logger.notice("worker serving \(roles.map(\.rawValue).joined(separator: ", ")) with \(concurrency) task(s) at once per role")
        // A consumer ends when shutdown cancels it, or with an error when
        // the broker cancels it (its queue was deleted). Either way the
        // tasks in hand finish: a migration is never cut off halfway. On an
        // error every role stops taking work, and `run()` throws once all
        // is finished, so the process exits non-zero and is restarted (and
        // declares the topology again).
        let stoppedBy = await withTaskGroup(of: (any Error)?.self) { group in
            for (role, consumer) in started {
                group.addTask {
                    await withDiscardingTaskGroup { tasks -> (any Error)? in
                        do {
                            for try await delivery in consumer {
                                tasks.addTask { await self.handle(delivery, role: role) }
                            }
                            return nil
                        } catch {
                            self.logger.error("stopped taking \(role.rawValue) tasks: \(error); finishing the tasks in hand")
                            await self.shutdown()
                            return error
                        }
                    }
                }
            }
            var first: (any Error)?
            for await error in group where first == nil { first = error }
            return first
        }
        if let error = stoppedBy {
            logger.error("worker stopped after an error: every task in hand finished")
            throw error
        }
        logger.notice("worker stopped: every task in hand finished")
    }

    /// Stops taking work: unread tasks go back to their queues at once, tasks
    /// in hand finish (their results are published), then `run()` returns.
    public func shutdown() async {
        stopping.store(true, ordering: .releasing)
        await cancelConsumers()
        // The broker has confirmed the cancels: nothing new reaches this worker from here on.
        logger.notice("stopped taking tasks; finishing the ones in hand")
    }

    private func cancelConsumers() async {
        for consumer in consumers.withLock({ $0 }) { await consumer.cancel() }
    }

    func handle(_ delivery: AMQPDelivery, role: Role) async {
        metrics.started(role, messageTimestamp: delivery.properties.timestamp)
        let began = ContinuousClock.now
        let (command, outcome) = await carryOut(delivery, role: role)
        let took = ContinuousClock.now - began
        metrics.finished(role, command: command, outcome: outcome,
                         seconds: outcome == "dead_lettered" ? nil : Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
    }

    /// Returns the command kind (or "unknown") and how the task ended, for the metrics.
    private func carryOut(_ delivery: AMQPDelivery, role: Role) async -> (String, String) {
        let queue = topology.taskQueue(role)
        // Authenticity first: nothing of an unverified task is trusted.
        if let signer {
            do throws(SigningError) { try signer.verify(delivery.properties, body: delivery.body) } catch {
                await deadLetter(delivery, queue: queue, reason: "task refused: \(error)")
                return ("unknown", "dead_lettered")
            }
        }
        let task: TaskMessage, envelope: Envelope
        do {
            guard case .task(let t, let e) = try decoder.decode(delivery) else {
                await deadLetter(delivery, queue: queue, reason: "expected a patchfleet.task message on \(queue)")
                return ("unknown", "dead_lettered")
            }
            (task, envelope) = (t, e)
        } catch {
            await deadLetter(delivery, queue: queue, reason: error.description)
            return ("unknown", "dead_lettered")
        }
        let kind = task.command.body.kind
        guard task.command.body.kind.route == .worker(role) else {
            await deadLetter(delivery, queue: queue, reason: "a \(kind.rawValue) task is not work for the \(role.rawValue) role")
            return (kind.rawValue, "dead_lettered")
        }
        let now = Instant(secondsSinceEpoch: Date().timeIntervalSince1970)
        if let deadline = envelope.deadline, deadline < now {
            await deadLetter(delivery, queue: queue, reason: "the task's deadline \(deadline) has passed; not acting on it")
            return (kind.rawValue, "dead_lettered")
        }
        // Everything about one host's saga is one query in a log shipper.
        var log = logger
        log[metadataKey: "job"] = .string(task.command.jobId)
        if let cluster = task.command.cluster { log[metadataKey: "cluster"] = .string(cluster) }
        log[metadataKey: "host"] = .string(task.command.host)
        log[metadataKey: "saga"] = .string(task.command.sagaId)
        log[metadataKey: "correlation"] = .string(envelope.correlationId ?? task.command.sagaId)
        log[metadataKey: "message"] = .string(envelope.messageId)
        log[metadataKey: "step"] = .string(kind.rawValue)
        let answer = await executor.execute(task.command)
        if case .commandFailed(let failure) = answer { log.warning("\(kind.rawValue) failed: \(failure.error)") }
        let result = ResultMessage(answering: task.command, taskMessageId: envelope.messageId,
                                   at: Instant(secondsSinceEpoch: Date().timeIntervalSince1970), answer)
        do {
            var message = try WireEncoder.encode(result, causationId: envelope.messageId,
                                                 traceparent: envelope.traceparent?.child() ?? .random())
            signer?.sign(&message)
            let publication = topology.result(message)
            try await connection.publish(publication.message, exchange: publication.exchange,
                                         routingKey: publication.routingKey, mandatory: publication.mandatory)
            delivery.ack()
            if case .commandFailed = answer { return (kind.rawValue, "failed") }
            return (kind.rawValue, "succeeded")
        } catch {
            // No confirmed result: give the task back. Redelivered, it is
            // carried out again harmlessly (observe-then-act).
            log.error("could not publish the result of \(kind.rawValue): \(error); the task goes back to its queue")
            delivery.nack(requeue: true)
            return (kind.rawValue, "requeued")
        }
    }

    /// Publishes a copy with the reason to the dead-letter exchange and acks
    /// the original only once the broker confirmed the copy.
    private func deadLetter(_ delivery: AMQPDelivery, queue: String, reason: String) async {
        logger.warning("dead-lettering a message from \(queue): \(reason)")
        if await !connection.deadLetter(delivery, from: queue, reason: reason, topology: topology) {
            logger.error("could not publish the dead-letter copy; rejected so the queue's own dead-lettering keeps it")
        }
    }
}
