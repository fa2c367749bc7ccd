import AMQP
import Foundation
import PatchFleetCoordinator
import PatchFleetCore
import PatchFleetLab
import PatchFleetSimulator
import PatchFleetStore
import PatchFleetWire
import PatchFleetTestSupport
import PatchFleetWorker
import Testing

/// The fleet end to end over the real broker: a coordinator process (SQLite
/// store) and three worker processes (one per role), patching the example
/// datacenter from docs/examples served by the lab (in this process, so the
/// test reads its history directly). The job goes in as a wire message on the control
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

        let admin = try await AMQPConnection.connect(url: Self.url)
        try await admin.declare(fleet.topology)
        try await admin.declare(LabServer.queueSpec(labQueue))
        // Follow the job's events on a queue of our own.
        let eventsQueue = "\(fleet.prefix).test-events"
        try await admin.declare(QueueSpec(eventsQueue, durable: false, autoDelete: true))
        try await admin.bind(QueueBinding(queue: eventsQueue, exchange: fleet.eventsExchange, routingKey: "job.#"))

        let datacenter = SimulatedDatacenter(configuration: lab, clock: clock)
        let labTask = Task { try await LabServer(datacenter: datacenter, connection: admin, queue: labQueue).run() }

        let binary = patchfleetExecutable()
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the patchfleet executable first (swift build)")
        let storeDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: storeDirectory, withIntermediateDirectories: true)
        let storePath = storeDirectory.appendingPathComponent("coordinator.sqlite").path
        let common = ["--time-scale", String(timeScale), "--prefix", fleet.prefix, "--lab-queue", labQueue, "--url", Self.url]
        let coordinator = try ChildProcess(binary, ["coordinator", "--store", storePath, "--catalog",
                                                    Self.examples.appendingPathComponent("inventory.yaml").path] + common,
                                           log: "e2e-coordinator")
        let workers = try Role.allCases.map { role in
            try ChildProcess(binary, ["worker", "--roles", role.rawValue, "--concurrency", "4"] + common, log: "e2e-worker-\(role.rawValue)")
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
        let store = try SQLiteSagaStore(path: storePath)
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

        // Every process stops cleanly on SIGTERM.
        for process in workers + [coordinator] {
            process.kill(SIGTERM)
            #expect(await process.exitStatus() == 0, "\(process.output())")
        }
        labTask.cancel()
        _ = try? await labTask.value
        for queue in fleet.queues { _ = try? await admin.deleteQueue(queue.name) }
        for exchange in fleet.exchanges { try? await admin.deleteExchange(exchange.name) }
        _ = try? await admin.deleteQueue(labQueue)
        await admin.close()
        try? FileManager.default.removeItem(at: storeDirectory)
    }
}
