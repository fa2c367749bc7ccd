import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetCoordinator
import PatchFleetCore
import PatchFleetObservability
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
    @Option(help: ArgumentHelp("The coordinator's dashboard and metrics (`off`: none). Default: the coordinator's, 127.0.0.1:9470 unless another process has it.", valueName: "host:port"))
    var httpAddress: String?
    @Option(help: "Keep the fleet (and its dashboard) up this many seconds after the job ends, to look around.")
    var linger: Double = 0
    @OptionGroup var fleet: FleetOptions

    func validate() throws {
        guard timeScale > 0 else { throw ValidationError("--time-scale must be > 0 (got \(timeScale))") }
        guard (1...8).contains(workersPerRole) else { throw ValidationError("--workers-per-role must be 1...8 (got \(workersPerRole))") }
    }

    func run() async throws {
        bootstrapClientLogging()
        let spec: JobSpec
        do { spec = try JobSpecLoader.load(contentsOf: URL(fileURLWithPath: job)) } catch {
            throw ValidationError("cannot load the job \(job): \(error)")
        }
        let settings = try fleet.settings()
        let url = try fleet.brokerURL(settings)
        // A fleet of its own on the broker, unless told otherwise.
        let topology = fleet.prefix.map { FleetTopology(prefix: $0) }
            ?? FleetTopology(prefix: "demo-\(UUID().uuidString.prefix(8).lowercased())")
        let directory = try Self.makeRunDirectory(runDirectory)
        let configuration = try fleet.amqpConfiguration(settings)
        let connection = try await AMQPConnection.connect(configuration, recovery: .default)

        let fleetProcesses = LocalFleet(directory: directory, url: url, topology: topology, timeScale: timeScale)
        let signals = SignalWaiter(signals: [SIGINT, SIGTERM]).stream
        let status: Int32
        do {
            status = try await withThrowingTaskGroup(of: Int32?.self) { group in
                group.addTask {
                    try await fleetProcesses.startLab(inventory: inventory)
                    try await fleetProcesses.startCoordinator(catalog: inventory, extra: httpAddress.map { ["--http-address", $0] } ?? [])
                    try await fleetProcesses.startWorkers(perRole: workersPerRole)
                    print("fleet up: lab, coordinator and \(3 * workersPerRole) workers as separate processes "
                          + "(time scale \(Int(timeScale))x, prefix \(topology.prefix)); logs in \(directory)")
                    if httpAddress != "off", let dashboard = await Self.dashboardURL(fleetProcesses) { print("dashboard: \(dashboard)  (metrics: \(dashboard)metrics)") }
                    print()
                    let status = try await JobSubmitter(connection: connection, topology: topology, user: configuration.user)
                        .submit(spec, follow: true, timeout: timeout)
                    if linger > 0 {
                        print("demo: the fleet stays up \(Int(linger)) s more (--linger); Ctrl-C stops it")
                        try await Task.sleep(for: .seconds(linger))
                    }
                    return status
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
        // Written by the coordinator when the job ended (docs/report.md).
        let report = "\(fleetProcesses.store).reports/\(ReportFiles.fileName(spec.id)).html"
        if FileManager.default.fileExists(atPath: report) { print("run report (timeline, Gantt chart, VM moves): \(report)") }
        print()
        switch status {
        case 0: print("demo: the job succeeded")
        case 1: print("demo: the job ended with hosts held for a person (the example lab fails TYO-H2's install on purpose)")
        default: print("demo: the job did not end as expected (status \(status)); see the logs in \(directory)")
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// Where the coordinator serves its dashboard, from its log: the
    /// address it was given, or its default unless another process (another
    /// demo, a test run) had it first, in which case it says so and serves none.
    static func dashboardURL(_ fleet: LocalFleet) async -> String? {
        for _ in 0..<100 {
            let log = fleet.output(of: "coordinator")
            if let line = log.split(separator: "\n").first(where: { $0.contains("dashboard and metrics on http://") }),
               let url = line.split(separator: " ").first(where: { $0.hasPrefix("http://") }) {
                return String(url)
            }
            if log.contains("no dashboard, metrics or probes") { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// The run's directory (created if missing), or a new temporary one.
    static func makeRunDirectory(_ given: String?) throws -> String {
        let path = given ?? FileManager.default.temporaryDirectory.appendingPathComponent("patchfleet-run-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

