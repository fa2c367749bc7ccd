import AMQP
import Foundation
import PatchFleetCoordinator
import PatchFleetCore
import PatchFleetLab
import PatchFleetSimulator
import PatchFleetStore
import PatchFleetWire
import PatchFleetWorker
import Testing

/// The fleet end to end over the real broker: coordinator (SQLite store),
/// the lab, and a worker per role, patching the example datacenter from
/// docs/examples. The job goes in as a wire message on the control
/// exchange; its end is read from the events exchange; the invariants are
/// checked from the lab's history.
@Suite("Fleet end to end", .serialized, .timeLimit(.minutes(3)))
struct FleetEndToEndTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/examples")
    static var url: String {
        ProcessInfo.processInfo.environment["PATCHFLEET_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5682/%2f"
    }

    @Test func theExampleJobRunsThroughTheFleetAndKeepsEveryInvariant() async throws {
        let lab = try LabConfiguration.load(contentsOf: Self.examples.appendingPathComponent("inventory.yaml"))
        let job = try JobSpecLoader.load(contentsOf: Self.examples.appendingPathComponent("job.yaml"))
        let fleet = FleetTopology(prefix: "test-e2e-\(UUID().uuidString.prefix(8).lowercased())")
        let labQueue = "\(fleet.prefix).lab"
        let timeScale = 2_000.0  // an hour in 1.8 s
        let clock = ScaledWallClock(start: Instant(secondsSinceEpoch: 1_800_000_000), timeScale: timeScale)
        let now: @Sendable () -> Instant = { clock.now() }

        let admin = try await AMQPConnection.connect(url: Self.url)
        try await admin.declare(fleet.topology)
        try await admin.declare(LabServer.queueSpec(labQueue))
        // Follow the job's events on a queue of our own.
        let eventsQueue = "\(fleet.prefix).test-events"
        try await admin.declare(QueueSpec(eventsQueue, durable: false, autoDelete: true))
        try await admin.bind(QueueBinding(queue: eventsQueue, exchange: fleet.eventsExchange, routingKey: "job.#"))

        let datacenter = SimulatedDatacenter(configuration: lab, clock: clock)
        let labTask = Task { try await LabServer(datacenter: datacenter, connection: admin, queue: labQueue).run() }

        let storeDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: storeDirectory, withIntermediateDirectories: true)
        let store = try SQLiteSagaStore(path: storeDirectory.appendingPathComponent("coordinator.sqlite").path)
        let coordinatorConnection = try await AMQPConnection.connect(url: Self.url)
        let coordinatorLab = try await LabClient.connect(connection: coordinatorConnection, requestQueue: labQueue)
        let engine = CoordinatorEngine(store: store, topology: fleet, virtualization: coordinatorLab, updates: coordinatorLab,
                                       updateLists: lab.inventory.updateLists, now: now)
        let coordinator = CoordinatorService(engine: engine, connection: coordinatorConnection, store: store,
                                             topology: fleet, now: now, tickInterval: .milliseconds(100))
        let coordinatorTask = Task { try await coordinator.run() }

        var workers: [(WorkerService, Task<Void, Error>, AMQPConnection)] = []
        for role in Role.allCases {
            let connection = try await AMQPConnection.connect(url: Self.url)
            let client = try await LabClient.connect(connection: connection, requestQueue: labQueue)
            let worker = WorkerService(connection: connection, topology: fleet, roles: [role], concurrency: 4,
                                       executor: CommandExecutor(virtualization: client, updates: client,
                                                                 timing: .wallClock(timeScale: timeScale, pollSeconds: 30)))
            workers.append((worker, Task { try await worker.run() }, connection))
        }

        // Submit as any system would: a job.submit message on the control exchange.
        let submission = JobSubmission(job: job, requestedBy: "e2e-test")
        let publication = fleet.submission(try WireEncoder.encode(submission, messageId: "submit-1"))
        try await admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                mandatory: true)

        let events = try await admin.consume(queue: eventsQueue, prefetch: 100)
        var final: JobStateChange?
        for try await delivery in events {
            delivery.ack()
            guard case .event(let event, _) = try WireDecoder().decode(delivery), case .job(let change) = event.event else { continue }
            if [.succeeded, .failed, .cancelled].contains(change.state) {
                final = change
                break
            }
        }
        await events.cancel()

        let finished = try #require(final)
        #expect(finished.jobId == job.id)
        let record = try #require(try await store.job(id: job.id))
        let report = try #require(record.report)
        #expect(report.isComplete)
        #expect(report.host("DUB-H2")?.outcome?.kind == .held, "Rule 1")
        #expect(report.host("BRANCH-01")?.outcome?.kind == .held, "standalone host")
        #expect(report.host("TYO-H2")?.outcome?.reason?.contains("0x80070643") == true, "the failing install")
        #expect(report.host("SEA-H2")?.outcome?.kind == .patched)
        #expect(datacenter.inventory.vm(named: "test-sql")?.host == "SEA-H2", "Rule 2 then Rule 3: moved off and back")
        #expect(finished.state == .failed, "TYO-H2's install failed for good")
        let violations = InvariantChecker(policy: job.policy).check(initial: lab.inventory, history: datacenter.history,
                                                                     final: datacenter.inventory, report: report)
        #expect(violations.isEmpty, "\(violations)")

        for (worker, task, _) in workers {
            await worker.shutdown()
            try await task.value
        }
        await coordinator.shutdown()
        try await coordinatorTask.value
        labTask.cancel()
        _ = try? await labTask.value
        for queue in fleet.queues { _ = try? await admin.deleteQueue(queue.name) }
        for exchange in fleet.exchanges { try? await admin.deleteExchange(exchange.name) }
        _ = try? await admin.deleteQueue(labQueue)
        for (_, _, connection) in workers { await connection.close() }
        await coordinatorConnection.close()
        await admin.close()
        try? FileManager.default.removeItem(at: storeDirectory)
    }
}
