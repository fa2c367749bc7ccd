import AMQP
import Foundation
import PatchFleetCore
import PatchFleetLab
import PatchFleetSimulator
import PatchFleetWire
import PatchFleetTestSupport
import Testing

/// Real `patchfleet worker` processes, one of them SIGKILLed in the middle of
/// a live migration: the task goes back to its queue, another worker answers
/// it, and the datacenter saw the VM move exactly once.
@Suite("Worker killed mid-task", .serialized, .timeLimit(.minutes(3)))
struct WorkerKillTests {
    @Test func aTaskOfAKilledWorkerIsRedeliveredAndActedOnOnce() async throws {
        let binary = patchfleetExecutable()
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the patchfleet executable first (swift build)")
        let fleet = FleetTopology(prefix: "test-kill-\(UUID().uuidString.prefix(8).lowercased())")
        let labQueue = "\(fleet.prefix).lab"
        let admin = try await AMQPConnection.connect(url: WorkerServiceTests.url)
        try await admin.declare(fleet.topology)
        // A slow clock (10x): migrating the 16 GB VM takes about two seconds of wall time.
        let datacenter = SimulatedDatacenter(configuration: CommandExecutorTests.lab,
                                             clock: ScaledWallClock(start: CommandExecutorTests.start, timeScale: 10))
        try await admin.declare(LabServer.queueSpec(labQueue))
        let serving = Task { try await LabServer(datacenter: datacenter, connection: admin, queue: labQueue).run() }
        let arguments = ["worker", "--roles", "drain", "--prefix", fleet.prefix, "--lab-queue", labQueue,
                         "--time-scale", "10", "--url", WorkerServiceTests.url]

        let first = try ChildProcess(binary, arguments, log: "worker-a")
        let task = TaskMessage(CommandExecutorTests.command(.vmAction(VMActionRequest(
            host: "H1", vm: "db", action: VMAction(.liveMigrate, to: "H3"), timeoutSeconds: 600))))
        let publication = try fleet.task(task, try WireEncoder.encode(task, messageId: "kill-task"))
        try await admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                mandatory: true)
        // Wait until the first worker is in the middle of the migration, then kill it.
        let started = await eventuallyTrue(within: 30) {
            datacenter.history.contains { if case .migrationRequested(vm: "db", _, _, _) = $0.change { true } else { false } }
        }
        try #require(started, "worker A never started the migration; its log: \(first.output())")
        first.kill(SIGKILL)
        #expect(await first.exitStatus() == 128 + SIGKILL)
        #expect(!datacenter.history.contains { if case .vmMoved(vm: "db", _, _, _) = $0.change { true } else { false } },
                "the migration should still have been in flight when the worker died")

        let second = try ChildProcess(binary, arguments, log: "worker-b")
        let consumer = try await admin.consume(queue: fleet.resultsQueue, prefetch: 10)
        var iterator = consumer.makeAsyncIterator()
        let delivery = try #require(try await iterator.next())
        guard case .result(let result, _) = try WireDecoder().decode(delivery) else {
            Issue.record("not a result")
            return
        }
        delivery.ack()
        #expect(result.task.messageId == "kill-task")
        #expect(result.event.body == .vmActionSucceeded(VMActionSucceeded(vm: "db", action: VMAction(.liveMigrate, to: "H3"))))
        // Exactly one move in the datacenter's history, to the planned host.
        let moves = datacenter.history.filter { if case .vmMoved(vm: "db", _, _, _) = $0.change { true } else { false } }
        #expect(moves.count == 1)
        #expect(datacenter.inventory.vm(named: "db")?.host == "H3")

        second.kill(SIGTERM)
        #expect(await second.exitStatus() == 0, "worker B's log: \(second.output())")
        await consumer.cancel()
        serving.cancel()
        _ = try? await serving.value
        for queue in fleet.queues { _ = try? await admin.deleteQueue(queue.name) }
        for exchange in fleet.exchanges { try? await admin.deleteExchange(exchange.name) }
        _ = try? await admin.deleteQueue(labQueue)
        await admin.close()
    }
}

