import AMQP
import Foundation
import PatchFleetCore
import PatchFleetLab
import PatchFleetSimulator
import PatchFleetStore
import PatchFleetTestSupport
import PatchFleetWire
import PatchFleetWorker
import Testing

/// The coordinator is a real `patchfleet coordinator` process, SIGKILLed in
/// the middle of the example job and started again on the same store: the
/// job still completes with the same outcomes, and every invariant holds in
/// the lab's history across the restart.
@Suite("Coordinator killed mid-job", .serialized, .timeLimit(.minutes(3)))
struct CoordinatorRestartTests {
    @Test func aCoordinatorKilledMidJobResumesFromItsStore() async throws {
        let binary = patchfleetExecutable()
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the patchfleet executable first (swift build)")
        let lab = try LabConfiguration.load(contentsOf: FleetEndToEndTests.examples.appendingPathComponent("inventory.yaml"))
        let job = try JobSpecLoader.load(contentsOf: FleetEndToEndTests.examples.appendingPathComponent("job.yaml"))
        let fleet = FleetTopology(prefix: "test-restart-\(UUID().uuidString.prefix(8).lowercased())")
        let labQueue = "\(fleet.prefix).lab"
        let timeScale = 1_000.0
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("restart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let storePath = directory.appendingPathComponent("coordinator.sqlite").path

        let admin = try await AMQPConnection.connect(url: FleetEndToEndTests.url)
        try await admin.declare(fleet.topology)
        try await admin.declare(LabServer.queueSpec(labQueue))
        let eventsQueue = "\(fleet.prefix).test-events"
        try await admin.declare(QueueSpec(eventsQueue, durable: false, autoDelete: true))
        try await admin.bind(QueueBinding(queue: eventsQueue, exchange: fleet.eventsExchange, routingKey: "#"))
        let datacenter = SimulatedDatacenter(configuration: lab, clock: ScaledWallClock(
            start: Instant(secondsSinceEpoch: Date().timeIntervalSince1970), timeScale: timeScale))
        let labTask = Task { try await LabServer(datacenter: datacenter, connection: admin, queue: labQueue).run() }
        var workers: [(WorkerService, Task<Void, Error>)] = []
        let workerConnection = try await AMQPConnection.connect(url: FleetEndToEndTests.url)
        let client = try await LabClient.connect(connection: workerConnection, requestQueue: labQueue)
        for role in Role.allCases {
            let worker = WorkerService(connection: workerConnection, topology: fleet, roles: [role], concurrency: 4,
                                       executor: CommandExecutor(virtualization: client, updates: client,
                                                                 timing: .wallClock(timeScale: timeScale, pollSeconds: 30)))
            workers.append((worker, Task { try await worker.run() }))
        }
        let arguments = ["coordinator", "--store", storePath, "--catalog",
                         FleetEndToEndTests.examples.appendingPathComponent("inventory.yaml").path,
                         "--time-scale", String(timeScale), "--prefix", fleet.prefix, "--lab-queue", labQueue,
                         "--url", FleetEndToEndTests.url]
        let first = try ChildProcess(binary, arguments, log: "coordinator-a")
        let publication = fleet.submission(try WireEncoder.encode(JobSubmission(job: job), messageId: "restart-submit"))
        // The coordinator may still be declaring: its queue exists already (declared above).
        try await admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                mandatory: true)

        let events = try await admin.consume(queue: eventsQueue, prefetch: 500)
        var iterator = events.makeAsyncIterator()
        var hostsDone = 0
        var final: JobStateChange?
        var killed = false
        var second: ChildProcess?
        while final == nil, let delivery = try await iterator.next() {
            delivery.ack()
            guard case .event(let event, _) = try WireDecoder().decode(delivery) else { continue }
            switch event.event {
            case .host(let change) where change.phase == .done: hostsDone += 1
            case .job(let change) where [.succeeded, .failed, .cancelled].contains(change.state): final = change
            default: break
            }
            // Mid-job: some hosts done, others in flight. Kill, then restart on the same store.
            if hostsDone == 3 && !killed {
                killed = true
                first.kill(SIGKILL)
                #expect(await first.exitStatus() == 128 + SIGKILL)
                second = try ChildProcess(binary, arguments, log: "coordinator-b")
            }
        }
        await events.cancel()
        #expect(killed, "the job ended before the coordinator could be killed mid-job")
        let finished = try #require(final)
        #expect(finished.jobId == job.id)

        let store = try SQLiteSagaStore(path: storePath)
        let report = try #require(try await store.job(id: job.id)?.report)
        #expect(report.isComplete)
        #expect(report.host("DUB-H2")?.outcome?.kind == .held)
        #expect(report.host("BRANCH-01")?.outcome?.kind == .held)
        #expect(report.host("TYO-H2")?.outcome?.reason?.contains("0x80070643") == true)
        #expect(report.count(.patched) == 8, "\(report.hosts.map { "\($0.host): \($0.outcome?.kind.rawValue ?? "-")" })")
        let violations = InvariantChecker(policy: job.policy).check(initial: lab.inventory, history: datacenter.history,
                                                                     final: datacenter.inventory, report: report)
        #expect(violations.isEmpty, "\(violations)")

        second?.kill(SIGTERM)
        #expect(await second?.exitStatus() == 0, "coordinator B's log: \(second?.output() ?? "")")
        for (worker, task) in workers {
            await worker.shutdown()
            try await task.value
        }
        labTask.cancel()
        _ = try? await labTask.value
        for queue in fleet.queues { _ = try? await admin.deleteQueue(queue.name) }
        for exchange in fleet.exchanges { try? await admin.deleteExchange(exchange.name) }
        _ = try? await admin.deleteQueue(labQueue)
        await workerConnection.close()
        await admin.close()
        try? FileManager.default.removeItem(at: directory)
    }
}
