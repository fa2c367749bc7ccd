import AMQP
import Foundation
import PatchFleetCore
import PatchFleetLab
import PatchFleetSimulator
import PatchFleetTestSupport
import PatchFleetWire
import Testing

/// A real `patchfleet worker --concurrency 3` process against a lab whose
/// clock the test holds (`GatedClock`): the tasks it takes wait in the lab
/// until the test lets them go, so how many it runs at once, and what
/// SIGTERM does to them, is seen without timing anything.
@Suite("Worker SIGTERM with tasks in flight", .serialized, .timeLimit(.minutes(2)))
struct WorkerShutdownTests {
    @Test func runsNTasksAtOnceAndOnSigtermFinishesThemGivesBackTheRestAndExitsZero() async throws {
        let binary = patchfleetExecutable()
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the patchfleet executable first (swift build)")
        let fleet = FleetTopology(prefix: "test-term-\(UUID().uuidString.prefix(8).lowercased())")
        let labQueue = "\(fleet.prefix).lab"
        let admin = try await AMQPConnection.connect(url: WorkerServiceTests.url)
        try await admin.declare(fleet.topology)
        let clock = GatedClock(start: CommandExecutorTests.start)
        let datacenter = SimulatedDatacenter(configuration: CommandExecutorTests.lab, clock: clock)
        try await admin.declare(LabServer.queueSpec(labQueue))
        let serving = Task { try await LabServer(datacenter: datacenter, connection: admin, queue: labQueue).run() }
        let worker = try ChildProcess(binary, ["worker", "--roles", "drain", "--concurrency", "3", "--prefix", fleet.prefix,
                                               "--lab-queue", labQueue, "--time-scale", "10", "--url", WorkerServiceTests.url],
                                      log: "worker-term")

        // Four drain tasks for three slots; the fourth would conflict with the first, and never runs.
        let moves: [(id: String, vm: String, action: VMAction)] = [
            ("t1", "web", VMAction(.liveMigrate, to: "H2")), ("t2", "db", VMAction(.liveMigrate, to: "H3")),
            ("t3", "cold", VMAction(.moveStopped, to: "H2")), ("t4", "web", VMAction(.liveMigrate, to: "H3")),
        ]
        for move in moves {
            let task = TaskMessage(CommandExecutorTests.command(.vmAction(VMActionRequest(
                host: "H1", vm: move.vm, action: move.action, timeoutSeconds: 600))))
            let publication = try fleet.task(task, try WireEncoder.encode(task, messageId: move.id))
            try await admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                    mandatory: true)
        }
        // Three calls held in the lab at once: three tasks in flight together.
        await clock.waitForSleepers(3)

        worker.kill(SIGTERM)
        // The worker lets go of its queues first (the broker confirmed the
        // cancel, so nothing new reaches it). Not the queue's consumer count:
        // a quorum queue still counts a cancelled consumer holding unacked tasks.
        let letGo = await eventuallyTrue(within: 60) { worker.output().contains("stopped taking tasks") }
        try #require(letGo, "the worker did not stop taking tasks on SIGTERM: \(worker.output())")
        #expect(!worker.hasExited, "it must not exit with tasks in hand")
        // ...then finishes the tasks it holds once the lab lets them go, and exits 0.
        clock.open()
        #expect(await worker.exitStatus() == 0, "\(worker.output())")

        let results = try await admin.consume(queue: fleet.resultsQueue, prefetch: 10)
        var iterator = results.makeAsyncIterator()
        var answered: [String: EventBody] = [:]
        while answered.count < 3, let delivery = try await iterator.next() {
            delivery.ack()
            guard case .result(let result, _) = try WireDecoder().decode(delivery) else { continue }
            answered[result.task.messageId] = result.event.body
        }
        await results.cancel()
        #expect(Set(answered.keys) == ["t1", "t2", "t3"])
        for move in moves.prefix(3) {
            #expect(answered[move.id] == .vmActionSucceeded(VMActionSucceeded(vm: move.vm, action: move.action)), "\(move.id)")
        }
        #expect(clock.mostAtOnce == 3, "--concurrency 3: never more at once")
        #expect(datacenter.inventory.vm(named: "web")?.host == "H2" && datacenter.inventory.vm(named: "db")?.host == "H3")

        // The fourth was never taken: it waits in its queue for the next worker.
        let drainQueue = try #require(fleet.queues.first { $0.name == fleet.taskQueue(.drain) })
        #expect(try await admin.declare(drainQueue).messageCount == 1)
        let left = try await admin.consume(queue: drainQueue.name, prefetch: 1)
        var leftIterator = left.makeAsyncIterator()
        let fourth = try #require(try await leftIterator.next())
        #expect(fourth.properties.messageId == "t4")
        fourth.ack()
        await left.cancel()

        serving.cancel()
        _ = try? await serving.value
        for queue in fleet.queues { _ = try? await admin.deleteQueue(queue.name) }
        for exchange in fleet.exchanges { try? await admin.deleteExchange(exchange.name) }
        _ = try? await admin.deleteQueue(labQueue)
        await admin.close()
    }
}
