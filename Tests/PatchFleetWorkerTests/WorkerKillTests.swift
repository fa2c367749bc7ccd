import AMQP
import Foundation
import PatchFleetCore
import PatchFleetLab
import PatchFleetSimulator
import PatchFleetWire
import Testing

/// Real `patchfleet worker` processes, one of them SIGKILLed in the middle of
/// a live migration: the task goes back to its queue, another worker answers
/// it, and the datacenter saw the VM move exactly once.
@Suite("Worker killed mid-task", .serialized, .timeLimit(.minutes(3)))
struct WorkerKillTests {
    static let productsDirectory: URL = {
        // The test bundle sits in the build products directory next to the executables.
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("patchfleet").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url
    }()

    @Test func aTaskOfAKilledWorkerIsRedeliveredAndActedOnOnce() async throws {
        let binary = Self.productsDirectory.appendingPathComponent("patchfleet").path
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
        #expect(first.wait() == 128 + SIGKILL)
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
        #expect(second.wait() == 0, "worker B's log: \(second.output())")
        await consumer.cancel()
        serving.cancel()
        _ = try? await serving.value
        for queue in fleet.queues { _ = try? await admin.deleteQueue(queue.name) }
        for exchange in fleet.exchanges { try? await admin.deleteExchange(exchange.name) }
        _ = try? await admin.deleteQueue(labQueue)
        await admin.close()
    }
}

func eventuallyTrue(within seconds: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// A child process started with posix_spawn (Foundation's Process can miss
/// a child's exit on Linux), its output in a file.
final class ChildProcess: Sendable {
    let pid: pid_t
    let logPath: String

    init(_ path: String, _ arguments: [String], log: String) throws {
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("\(log)-\(UUID().uuidString.prefix(6)).log").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let env = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + env).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, env)
        guard rc == 0 else { throw CocoaError(.executableLoad) }
        self.pid = pid
    }

    func kill(_ signal: Int32) { Glibc.kill(pid, signal) }

    /// Waits for the exit; returns the exit status, or 128 + the signal.
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    func output() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
