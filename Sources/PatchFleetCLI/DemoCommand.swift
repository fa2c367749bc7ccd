import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetCore
import PatchFleetSupervisor
import PatchFleetWire
import Synchronization

/// `patchfleet demo`: the whole fleet on the simulated datacenter, each part
/// its own process as in production — the lab, a coordinator, workers per
/// role — then the example job submitted and followed live, the per-host
/// outcome and the VM moves. Its fleet has a prefix of its own, so it never
/// touches a fleet already running on the same broker, and it removes its
/// queues and exchanges at the end.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the fleet on the simulated datacenter as separate processes and patch it live.",
        discussion: """
            Exit status as for submit: 0 the job succeeded, 1 it ended with hosts failed or held for a failure
            (the example lab fails one install on purpose).
            Example:
              patchfleet demo --inventory docs/examples/inventory.yaml --job docs/examples/job.yaml --time-scale 600
            """)

    @Option(help: "The lab: inventory plus simulator faults and durations.")
    var inventory = "docs/examples/inventory.yaml"
    @Option(help: "The job to submit.")
    var job = "docs/examples/job.yaml"
    @Option(help: "Simulated seconds per wall-clock second (600: an hour in 6 s).")
    var timeScale: Double = 600
    @Option(help: "Worker processes per role.")
    var workersPerRole = 1
    @Option(help: "Where the processes' logs, the store and the lab snapshot go. Default: a new temporary directory.")
    var runDirectory: String?
    @Option(help: "Give up following the job after this many seconds.")
    var timeout: Double = 300
    @OptionGroup var fleet: FleetOptions

    func validate() throws {
        guard timeScale > 0 else { throw ValidationError("--time-scale must be > 0 (got \(timeScale))") }
        guard (1...8).contains(workersPerRole) else { throw ValidationError("--workers-per-role must be 1...8 (got \(workersPerRole))") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let spec: JobSpec
        do { spec = try JobSpecLoader.load(contentsOf: URL(fileURLWithPath: job)) } catch {
            throw ValidationError("cannot load the job \(job): \(error)")
        }
        let settings = try fleet.settings()
        let url = try fleet.brokerURL(settings)
        // A fleet of its own on the broker, unless told otherwise.
        let topology = fleet.prefix.map { FleetTopology(prefix: $0) }
            ?? FleetTopology(prefix: "demo-\(UUID().uuidString.prefix(8).lowercased())")
        let directory = try runDirectory ?? Self.temporaryDirectory()
        let configuration = try fleet.amqpConfiguration(settings)
        let connection = try await AMQPConnection.connect(configuration, recovery: .default)

        let fleetProcesses = DemoFleet(directory: directory, url: url, topology: topology, timeScale: timeScale)
        let signals = SignalWaiter(signals: [SIGINT, SIGTERM]).stream
        let status: Int32
        do {
            status = try await withThrowingTaskGroup(of: Int32?.self) { group in
                group.addTask {
                    try await fleetProcesses.start(inventory: inventory, workersPerRole: workersPerRole)
                    print("fleet up: lab, coordinator and \(3 * workersPerRole) workers as separate processes "
                          + "(time scale \(Int(timeScale))x, prefix \(topology.prefix)); logs in \(directory)\n")
                    return try await JobSubmitter(connection: connection, topology: topology, user: configuration.user)
                        .submit(spec, follow: true, timeout: timeout)
                }
                group.addTask {
                    for await _ in signals { return nil }
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first ?? 130
            }
        } catch {
            await fleetProcesses.stop(connection: connection)
            await connection.close()
            throw error
        }
        // The lab writes its history on SIGTERM; the report reads it.
        await fleetProcesses.stop(connection: connection)
        await connection.close()
        if status == 130 {
            print("demo: interrupted; everything it started is stopped")
            throw ExitCode(130)
        }
        print()
        try LabReportCommand.printReport(snapshot: fleetProcesses.snapshot)
        print()
        switch status {
        case 0: print("demo: the job succeeded")
        case 1: print("demo: the job ended with hosts held for a person (the example lab fails TYO-H2's install on purpose)")
        default: print("demo: the job did not end as expected (status \(status)); see the logs in \(directory)")
        }
        if status != 0 { throw ExitCode(status) }
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("patchfleet-demo-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// The demo's processes, started in dependency order, each waited for until
/// its log says it serves, and stopped with SIGTERM (the lab first, so its
/// snapshot covers the whole run).
final class DemoFleet: Sendable {
    let directory: String
    let url: String
    let topology: FleetTopology
    let timeScale: Double
    private let processes = Mutex<[(name: String, process: ChildProcess)]>([])

    var snapshot: String { "\(directory)/lab.json" }
    var labQueue: String { "\(topology.prefix).lab" }

    init(directory: String, url: String, topology: FleetTopology, timeScale: Double) {
        self.directory = directory
        self.url = url
        self.topology = topology
        self.timeScale = timeScale
    }

    func start(inventory: String, workersPerRole: Int) async throws {
        let scale = String(timeScale)
        // Signed tasks and results, as in production: a throwaway keyring.
        let keyring = "\(directory)/keyring.yaml"
        try Keyring.newSecret().write(toFile: "\(directory)/demo.key", atomically: true, encoding: .utf8)
        try "signing: demo\nkeys:\n  - id: demo\n    secretFile: demo.key\n".write(toFile: keyring, atomically: true, encoding: .utf8)
        let common = ["--url", url, "--prefix", topology.prefix, "--keyring", keyring]
        try await launch("lab", ["lab", "--inventory", inventory, "--time-scale", scale, "--queue", labQueue,
                                 "--snapshot", snapshot, "--url", url], ready: "lab serving")
        try await launch("coordinator", ["coordinator", "--store", "\(directory)/coordinator.sqlite", "--catalog", inventory,
                                         "--time-scale", scale, "--lab-queue", labQueue] + common, ready: "coordinator running")
        for role in Role.allCases {
            for index in 1...workersPerRole {
                try await launch("worker-\(role.rawValue)-\(index)",
                                 ["worker", "--roles", role.rawValue, "--concurrency", "4", "--time-scale", scale,
                                  "--lab-queue", labQueue] + common, ready: "worker serving")
            }
        }
    }

    private func launch(_ name: String, _ arguments: [String], ready text: String) async throws {
        let process = try ChildProcess(currentExecutable(), arguments, logPath: "\(directory)/\(name).log",
                                       environment: ["PATCHFLEET_CONFIG": ""])
        processes.withLock { $0.append((name, process)) }
        for _ in 0..<300 {
            if process.output().contains(text) { return }
            if process.hasExited {
                throw ValidationError("demo: \(name) stopped before it was ready:\n\(process.output())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ValidationError("demo: \(name) not ready after 15 s:\n\(process.output())")
    }

    /// SIGTERM to every process (the lab first), waits for each, then
    /// deletes the demo fleet's queues and exchanges.
    func stop(connection: AMQPConnection) async {
        let all = processes.withLock { list in
            defer { list = [] }
            return list
        }
        let ordered = all.filter { $0.name == "lab" } + all.filter { $0.name != "lab" }
        for (name, process) in ordered {
            process.kill(SIGTERM)
            let status = await process.exitStatus()
            if status != 0 { print("demo: \(name) exited with \(status); its log: \(process.logPath)") }
        }
        for queue in topology.queues { _ = try? await connection.deleteQueue(queue.name) }
        for exchange in topology.exchanges { try? await connection.deleteExchange(exchange.name) }
        _ = try? await connection.deleteQueue(labQueue)
    }
}
