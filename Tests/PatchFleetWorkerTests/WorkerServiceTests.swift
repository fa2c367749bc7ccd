import AMQP
import Foundation
import Logging
import PatchFleetObservability
import PatchFleetCore
import PatchFleetLab
import PatchFleetSimulator
import PatchFleetWire
import Synchronization
import Testing
@testable import PatchFleetWorker

/// A worker's main loop over the real broker, acting on the lab through
/// LabClient exactly as a worker process does.
@Suite("Worker service over AMQP", .timeLimit(.minutes(2)))
struct WorkerServiceTests {
    static var url: String {
        ProcessInfo.processInfo.environment["PATCHFLEET_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5682/%2f"
    }

    /// A fleet topology and lab of their own, a worker serving every role,
    /// and a cleanup that deletes what was declared.
    func withWorker(signer: MessageSigner? = nil, logger: Logger = Logger(label: "patchfleet.worker"),
                    _ body: @Sendable (FleetTopology, AMQPConnection, SimulatedDatacenter) async throws -> Void) async throws {
        let fleet = FleetTopology(prefix: "test-worker-\(UUID().uuidString.prefix(8).lowercased())")
        let labQueue = "\(fleet.prefix).lab"
        let admin = try await AMQPConnection.connect(url: Self.url)
        let workerConnection = try await AMQPConnection.connect(url: Self.url)
        try await admin.declare(fleet.topology)
        let datacenter = SimulatedDatacenter(configuration: CommandExecutorTests.lab,
                                             clock: ScaledWallClock(start: CommandExecutorTests.start, timeScale: 100_000))
        let lab = LabServer(datacenter: datacenter, connection: admin, queue: labQueue)
        try await admin.declare(LabServer.queueSpec(labQueue))
        let serving = Task { try await lab.run() }
        let client = try await LabClient.connect(connection: workerConnection, requestQueue: labQueue, timeout: .seconds(10))
        let worker = WorkerService(connection: workerConnection, topology: fleet, roles: Role.allCases, concurrency: 4,
                                   executor: CommandExecutor(virtualization: client, updates: client,
                                                             timing: .wallClock(timeScale: 100_000, pollSeconds: 30)),
                                   signer: signer, logger: logger)
        let running = Task { try await worker.run() }
        var failure: (any Error)?
        do { try await body(fleet, admin, datacenter) } catch { failure = error }
        await worker.shutdown()
        try await running.value  // returns once tasks in hand are done
        serving.cancel()
        _ = try? await serving.value
        for queue in fleet.queues { _ = try? await admin.deleteQueue(queue.name) }
        for exchange in fleet.exchanges { try? await admin.deleteExchange(exchange.name) }
        _ = try? await admin.deleteQueue(labQueue)
        await workerConnection.close()
        await admin.close()
        if let failure { throw failure }
    }

    func nextMessage(_ connection: AMQPConnection, on queue: String) async throws -> AMQPDelivery {
        let consumer = try await connection.consume(queue: queue, prefetch: 1)
        var iterator = consumer.makeAsyncIterator()
        let delivery = try #require(try await iterator.next())
        await consumer.cancel()
        return delivery
    }

    /// A task queue deleted under a running worker: the broker cancels its
    /// consumer (consumer_cancel_notify), every role stops taking work, and
    /// `run()` ends with the error naming the queue (the process exits
    /// non-zero and is restarted) instead of hanging on a dead queue.
    @Test func aDeletedTaskQueueStopsTheWorkerWithTheReason() async throws {
        let fleet = FleetTopology(prefix: "test-worker-\(UUID().uuidString.prefix(8).lowercased())")
        let admin = try await AMQPConnection.connect(url: Self.url)
        let connection = try await AMQPConnection.connect(url: Self.url)
        try await admin.declare(fleet.topology)
        let datacenter = CommandExecutorTests.datacenter()
        let worker = WorkerService(connection: connection, topology: fleet, roles: Role.allCases, concurrency: 2,
                                   executor: CommandExecutor(virtualization: datacenter, updates: datacenter),
                                   logger: Logger(label: "patchfleet.worker"))
        let running = Task { () -> String in
            do { try await worker.run(); return "returned" } catch { return "\(error)" }
        }
        // Once its consumers are up (they show on the queue), the deploy queue goes.
        for _ in 0..<100 {
            let spec = try #require(fleet.topology.queues.first { $0.name == fleet.taskQueue(.deploy) })
            if try await admin.declare(spec).consumerCount > 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = try await admin.deleteQueue(fleet.taskQueue(.deploy))
        let ending = await running.value
        #expect(ending.contains(fleet.taskQueue(.deploy)), "\(ending)")
        for queue in fleet.queues { _ = try? await admin.deleteQueue(queue.name) }
        for exchange in fleet.exchanges { try? await admin.deleteExchange(exchange.name) }
        await connection.close()
        await admin.close()
    }

    @Test func aTaskIsCarriedOutAndAnsweredOnTheResultsQueue() async throws {
        try await withWorker { fleet, admin, datacenter in
            let command = CommandExecutorTests.command(.vmAction(VMActionRequest(
                host: "H1", vm: "web", action: VMAction(.liveMigrate, to: "H2"), timeoutSeconds: 600)))
            let task = TaskMessage(command)
            let publication = try fleet.task(task, try WireEncoder.encode(task, messageId: "task-1"))
            try await admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                    mandatory: true)
            let delivery = try await nextMessage(admin, on: fleet.resultsQueue)
            guard case .result(let result, let envelope) = try WireDecoder().decode(delivery) else {
                Issue.record("not a result")
                return
            }
            #expect(result.task.messageId == "task-1")
            #expect(envelope.causationId == "task-1")
            #expect(result.event.body == .vmActionSucceeded(VMActionSucceeded(vm: "web", action: VMAction(.liveMigrate, to: "H2"))))
            #expect(datacenter.inventory.vm(named: "web")?.host == "H2")
            delivery.ack()
        }
    }

    final class LogLines: Sendable {
        let lines = Mutex<[String]>([])
    }

    /// A failed task's log line, as a log shipper receives it in JSON: the
    /// job, cluster, host, saga (correlation) and message are fields.
    @Test func aFailedTaskIsLoggedWithTheSagasIdsAsFields() async throws {
        let sink = LogLines()
        let logger = Logger(label: "patchfleet.worker") { label in
            JSONLogHandler(label: label) { line in sink.lines.withLock { $0.append(line) } }
        }
        try await withWorker(logger: logger) { fleet, admin, _ in
            // Maintenance for a host the datacenter does not have: the backend says no.
            let command = CommandExecutorTests.command(.enterMaintenance(MaintenanceRequest(host: "NO-SUCH-HOST")))
            let task = TaskMessage(command)
            let publication = try fleet.task(task, try WireEncoder.encode(task, messageId: "task-fails"))
            try await admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                    mandatory: true)
            let delivery = try await nextMessage(admin, on: fleet.resultsQueue)
            delivery.ack()
        }
        let warnings = sink.lines.withLock { $0 }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { ($0["msg"] as? String)?.hasPrefix("enterMaintenance failed") == true }
        let line = try #require(warnings.first, "\(sink.lines.withLock { $0 })")
        #expect(line["level"] as? String == "warning")
        #expect(line["job"] as? String == "job" && line["cluster"] as? String == "C" && line["host"] as? String == "H1")
        #expect(line["saga"] as? String == "job:H1" && line["correlation"] as? String == "job:H1")
        #expect(line["message"] as? String == "task-fails" && line["step"] as? String == "enterMaintenance")
        #expect((line["msg"] as? String)?.contains("NO-SUCH-HOST") == true, "the backend's own words")
    }

    @Test func badInputIsDeadLetteredWithItsReason() async throws {
        try await withWorker { fleet, admin, _ in
            // Garbage on a task queue, and a deploy task sent to the drain queue.
            try await admin.publish(AMQPMessage("{not json"), exchange: "", routingKey: fleet.taskQueue(.drain))
            let deploy = TaskMessage(CommandExecutorTests.command(.pollCompliance(ComplianceRequest(host: "H1", updateIds: ["KB1"]))))
            try await admin.publish(try WireEncoder.encode(deploy), exchange: "", routingKey: fleet.taskQueue(.drain))
            var reasons: [String] = []
            for _ in 0..<2 {
                let dead = try await nextMessage(admin, on: fleet.deadQueue)
                reasons.append(dead.properties.headers?[DeadLetterHeader.reason]?.stringValue ?? "(no reason)")
                #expect(dead.properties.headers?[DeadLetterHeader.queue]?.stringValue == fleet.taskQueue(.drain))
                dead.ack()
            }
            #expect(reasons.contains { $0.lowercased().contains("json") }, "\(reasons)")
            #expect(reasons.contains { $0.contains("pollCompliance task is not work for the drain role") }, "\(reasons)")
        }
    }

    /// With a keyring, the worker acts only on tasks signed with a key in
    /// force and within their deadline; everything else is dead-lettered
    /// with the reason, and its result is signed.
    @Test func onlySignedTasksWithinTheirDeadlineAreCarriedOut() async throws {
        let current = try MessageSigner.Key(id: "k2", secret: Data(repeating: 2, count: 32))
        let retired = try MessageSigner.Key(id: "k1", secret: Data(repeating: 1, count: 32), retired: true)
        let workerKeys = try MessageSigner(keys: [current, retired], signingKeyId: "k2")
        let oldSigner = try MessageSigner(keys: [try MessageSigner.Key(id: "k1", secret: Data(repeating: 1, count: 32))], signingKeyId: "k1")
        let forger = try MessageSigner(keys: [try MessageSigner.Key(id: "k2", secret: Data(repeating: 9, count: 32))], signingKeyId: "k2")
        try await withWorker(signer: workerKeys) { fleet, admin, datacenter in
            func send(_ vm: String, messageId: String, deadline: Instant? = nil, _ sign: (inout AMQPMessage) -> Void) async throws {
                let task = TaskMessage(CommandExecutorTests.command(.vmAction(VMActionRequest(
                    host: "H1", vm: vm, action: VMAction(.liveMigrate, to: "H2"), timeoutSeconds: 600))))
                var message = try WireEncoder.encode(task, messageId: messageId, deadline: deadline)
                sign(&message)
                let publication = try fleet.task(task, message)
                try await admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey)
            }
            let now = Date().timeIntervalSince1970
            try await send("web", messageId: "unsigned") { _ in }
            try await send("web", messageId: "forged") { forger.sign(&$0) }
            try await send("web", messageId: "retired-key") { oldSigner.sign(&$0) }
            try await send("web", messageId: "expired", deadline: Instant(secondsSinceEpoch: now - 60)) { workerKeys.sign(&$0) }
            try await send("web", messageId: "re-aimed") { message in
                workerKeys.sign(&message)
                // Signed for H1, then pointed at another host: the signature covers the host header.
                message.properties.headers?[EnvelopeHeader.host] = .string("H9")
            }
            var reasons: [String: String] = [:]
            for _ in 0..<5 {
                let dead = try await nextMessage(admin, on: fleet.deadQueue)
                reasons[dead.properties.messageId ?? "?"] = dead.properties.headers?[DeadLetterHeader.reason]?.stringValue
                dead.ack()
            }
            #expect(reasons["unsigned"]?.contains("task refused: unsigned") == true, "\(reasons)")
            #expect(reasons["forged"]?.contains("does not match") == true, "\(reasons)")
            #expect(reasons["retired-key"]?.contains("retired key 'k1'") == true, "\(reasons)")
            #expect(reasons["expired"]?.contains("deadline") == true, "\(reasons)")
            #expect(reasons["re-aimed"]?.contains("does not match") == true, "\(reasons)")
            #expect(datacenter.inventory.vm(named: "web")?.host == "H1", "no refused task moved anything")

            try await send("web", messageId: "good", deadline: Instant(secondsSinceEpoch: now + 600)) { workerKeys.sign(&$0) }
            let delivery = try await nextMessage(admin, on: fleet.resultsQueue)
            #expect(throws: Never.self) { try workerKeys.verify(delivery.properties, body: delivery.body) }
            guard case .result(let result, _) = try WireDecoder().decode(delivery) else {
                Issue.record("not a result")
                return
            }
            #expect(result.task.messageId == "good")
            #expect(datacenter.inventory.vm(named: "web")?.host == "H2")
            delivery.ack()
        }
    }
}
