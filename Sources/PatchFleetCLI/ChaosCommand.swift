import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetCore
import PatchFleetLab
import PatchFleetSimulator
import PatchFleetStore
import PatchFleetSupervisor
import PatchFleetWire
import Synchronization

/// `patchfleet chaos`: the fault-injection run. A job over many simulated
/// clusters through the real broker, a coordinator and several workers as
/// processes, while a seeded schedule SIGKILLs and restarts workers and the
/// coordinator, restarts the broker, and the simulated backends fail, time
/// out and answer late. At the end every invariant of the design is checked
/// from the simulator's history, the store's report and the event stream.
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Fault-injection run: kill workers, the coordinator and the broker mid-job, then check every invariant.",
        discussion: """
            The last line is `violations=N`; the exit status is 0 only when N is 0 and the job ended.
            Example:
              patchfleet chaos --seed 7 --clusters 15 --hosts-per-cluster 7
            """)

    @Option(help: "Seed of the datacenter, its backend faults and the process fault schedule.")
    var seed: UInt64 = 1
    @Option(help: "Clusters in the simulated datacenter.")
    var clusters = 15
    @Option(help: "Hosts per cluster.")
    var hostsPerCluster = 7
    @Option(help: "Worker processes per role.")
    var workersPerRole = 2
    @Option(help: "Simulated seconds per wall-clock second.")
    var timeScale: Double = 600
    @Option(help: "Wall-clock seconds between two process faults (jittered).")
    var faultInterval: Double = 3
    @Option(help: "Broker restarts during the run (needs --broker-script).")
    var brokerRestarts = 1
    @Option(help: "The script that restarts this broker (`<script> restart`): the private broker's.")
    var brokerScript = "deploy/local/broker.sh"
    @Option(help: "Give up after this many wall-clock seconds.")
    var timeout: Double = 900
    @Option(help: "Where logs, the store and the lab snapshot go. Default: a new temporary directory.")
    var runDirectory: String?
    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        bootstrapClientLogging(.error)
        let settings = try fleet.settings()
        let url = try fleet.brokerURL(settings)
        let topology = FleetTopology(prefix: fleet.prefix ?? "chaos-\(seed)-\(UUID().uuidString.prefix(6).lowercased())")
        let directory = try DemoCommand.makeRunDirectory(runDirectory)
        let plan = ChaosPlan(seed: seed, clusters: clusters, hostsPerCluster: hostsPerCluster)
        let labFile = "\(directory)/lab.json"
        try WireCoding.encode(plan.lab).write(to: URL(fileURLWithPath: labFile))
        print("chaos: seed \(seed), \(plan.lab.inventory.hosts.count) hosts in \(clusters) clusters, "
              + "\(plan.lab.inventory.vms.count) VMs, \(plan.lab.faults.count) backend faults; logs in \(directory)")

        // The lab in this process, so the history is read directly at the end;
        // its connection recovers from the broker restarts like every other.
        let connection = try await AMQPConnection.connect(try fleet.amqpConfiguration(settings), recovery: .default)
        try await connection.declare(topology.topology)
        let labQueue = "\(topology.prefix).lab"
        try await connection.declare(LabServer.queueSpec(labQueue))
        let start = Instant(secondsSinceEpoch: Date().timeIntervalSince1970.rounded())
        let datacenter = SimulatedDatacenter(configuration: plan.lab, clock: ScaledWallClock(start: start, timeScale: timeScale))
        let labTask = Task { try await LabServer(datacenter: datacenter, connection: connection, queue: labQueue).run() }
        // Every event, on a durable queue of the run's own (broker restarts included).
        let eventsQueue = "\(topology.prefix).chaos-events"
        try await connection.declare(QueueSpec(eventsQueue, durable: true))
        try await connection.bind(QueueBinding(queue: eventsQueue, exchange: topology.eventsExchange, routingKey: "#"))
        let recorder = EventRecorder(jobId: plan.job.id)
        let events = try await connection.consume(queue: eventsQueue, prefetch: 500)
        let eventTask = Task { try await recorder.record(events) }

        let processes = LocalFleet(directory: directory, url: url, topology: topology, timeScale: timeScale)
        try await processes.startCoordinator(catalog: labFile)
        try await processes.startWorkers(perRole: workersPerRole)
        let submission = topology.submission(try WireEncoder.encode(JobSubmission(job: plan.job, requestedBy: "chaos")))
        try await connection.publish(submission.message, exchange: submission.exchange, routingKey: submission.routingKey,
                                     mandatory: true, onConnectionLoss: .republish)
        let began = ContinuousClock.now

        let injector = FaultInjector(seed: seed, processes: processes, interval: faultInterval, brokerRestarts: brokerRestarts,
                                     brokerScript: brokerScript)
        let faultTask = Task { await injector.run(until: { recorder.finished != nil }) }
        // Interrupted, stop everything this run started (no orphan fleet left behind).
        let interrupted = Atomic<Bool>(false)
        let signals = SignalWaiter(signals: [SIGINT, SIGTERM]).stream
        let signalTask = Task {
            for await _ in signals {
                interrupted.store(true, ordering: .releasing)
                break
            }
        }
        while recorder.finished == nil, ContinuousClock.now - began < .seconds(timeout), !interrupted.load(ordering: .acquiring) {
            try await Task.sleep(for: .milliseconds(200))
        }
        signalTask.cancel()
        faultTask.cancel()
        _ = await faultTask.result
        let elapsed = ContinuousClock.now - began

        let stopped = await processes.stop(connection: connection)
        let unclean = stopped.unclean
        labTask.cancel()
        await events.cancel()
        // A broker that did not answer the fleet's cleanup is not waited for twice.
        if stopped.brokerCleaned {
            await connection.bestEffort(within: 15) { connection in
                _ = try? await connection.deleteQueue(eventsQueue)
                _ = try? await connection.deleteQueue(labQueue)
            }
        }
        // Closed before the lab and the recorder are waited for: a lab reply
        // queued while the broker is gone fails with the close, not never.
        await connection.close()
        _ = try? await labTask.value
        _ = try? await eventTask.value

        if interrupted.load(ordering: .acquiring) {
            print("chaos: interrupted; everything it started is stopped")
            throw ExitCode(130)
        }
        // The verdict.
        print("\nfaults injected (\(injector.log.count) process/broker faults, \(plan.lab.faults.count) backend faults):")
        for line in injector.log { print("  \(line)") }
        for fault in plan.lab.faults {
            print("  backend: \(fault.kind.rawValue) \(fault.host ?? fault.vm ?? "")\(fault.times.map { " x\($0)" } ?? "")")
        }
        var violations: [String] = []
        guard let finished = recorder.finished else {
            print("the job did not end within \(Int(timeout)) s")
            print("violations=1")
            throw ExitCode(1)
        }
        let report = try await SQLiteSagaStore(path: processes.store).job(id: plan.job.id)?.report
        guard let report else {
            print("the job has no report in the store")
            print("violations=1")
            throw ExitCode(1)
        }
        violations += InvariantChecker(policy: plan.job.policy)
            .check(initial: plan.lab.inventory, history: datacenter.history, final: datacenter.inventory, report: report)
            .map(\.description)
        violations += recorder.disagreements(with: report)
        violations += unclean.map { "process did not stop cleanly: \($0)" }

        print("\njob \(plan.job.id) \(finished.rawValue) after \(Int(Double(elapsed.components.seconds))) s; hosts:")
        for kind in HostOutcome.Kind.allCases {
            let hosts = report.hosts.filter { $0.outcome?.kind == kind }
            guard !hosts.isEmpty else { continue }
            print("  \(kind.rawValue): \(hosts.count)")
            guard kind != .patched else { continue }
            var byReason: [String: [String]] = [:]
            for host in hosts { byReason[host.outcome?.reason ?? "no reason", default: []].append(host.host) }
            for (reason, names) in byReason.sorted(by: { $0.key < $1.key }) {
                print("    \(names.sorted().joined(separator: ", ")): \(reason)")
            }
        }
        for violation in violations { print("VIOLATION \(violation)") }
        print("violations=\(violations.count)")
        if !violations.isEmpty { throw ExitCode(1) }
    }
}

/// Keeps the job's events: its final state and each host's last change.
final class EventRecorder: Sendable {
    let jobId: String
    private let state = Mutex<(final: PatchFleetWire.JobState?, hosts: [String: HostStateChange])>((nil, [:]))

    init(jobId: String) { self.jobId = jobId }

    var finished: PatchFleetWire.JobState? { state.withLock { $0.final } }

    func record(_ events: AMQPConsumer) async throws {
        for try await delivery in events {
            delivery.ack()
            guard case .event(let event, _) = try? WireDecoder().decode(delivery) else { continue }
            switch event.event {
            case .job(let change) where change.jobId == jobId && [.succeeded, .failed, .cancelled].contains(change.state):
                state.withLock { $0.final = change.state }
            case .host(let change) where change.jobId == jobId && change.outcome != nil:
                state.withLock { $0.hosts[change.host] = change }
            default:
                break
            }
        }
    }

    /// Hosts whose last event says something else than the store's report.
    func disagreements(with report: JobReport) -> [String] {
        let hosts = state.withLock { $0.hosts }
        return report.hosts.compactMap { host -> String? in
            guard let outcome = host.outcome else { return nil }
            guard let event = hosts[host.host] else { return "no final event for host \(host.host) (\(outcome.kind.rawValue) in the store)" }
            return event.outcome?.kind == outcome.kind ? nil
                : "host \(host.host): the events say \(event.outcome?.kind.rawValue ?? "?"), the store \(outcome.kind.rawValue)"
        }
    }
}

/// The seeded schedule of process faults: SIGKILL a worker and start it
/// again, SIGKILL the coordinator and start it again, restart the broker.
final class FaultInjector: Sendable {
    let processes: LocalFleet
    let interval: Double
    let brokerRestarts: Int
    let brokerScript: String
    private let rng: Mutex<SeededGenerator>
    private let entries = Mutex<[String]>([])
    private let began = ContinuousClock.now

    var log: [String] { entries.withLock { $0 } }

    init(seed: UInt64, processes: LocalFleet, interval: Double, brokerRestarts: Int, brokerScript: String) {
        self.processes = processes
        self.interval = interval
        self.brokerRestarts = brokerRestarts
        self.brokerScript = brokerScript
        rng = Mutex(SeededGenerator(seed: seed &* 31 &+ 7))
    }

    private func note(_ text: String) {
        let at = Double((ContinuousClock.now - began).components.seconds)
        entries.withLock { $0.append(String(format: "%5.0fs  %@", at, text)) }
    }

    func run(until done: @Sendable () -> Bool) async {
        var brokerLeft = brokerRestarts
        var round = 0
        while !Task.isCancelled && !done() {
            let pause = rng.withLock { $0.double(interval * 0.5 ... interval * 1.5) }
            try? await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
            guard !Task.isCancelled && !done() else { return }
            round += 1
            let roll = rng.withLock { $0.int(0...99) }
            do {
                if brokerLeft > 0 && round % 4 == 3 {
                    brokerLeft -= 1
                    note("broker restart")
                    _ = try await runCommand([brokerScript, "restart"])
                } else if roll < 30 {
                    note("SIGKILL coordinator, started again")
                    await processes.kill("coordinator", SIGKILL)
                    try await processes.restart("coordinator")
                } else {
                    let workers = processes.names.filter { $0.hasPrefix("worker-") }
                    let victim = rng.withLock { $0.pick(workers) }
                    note("SIGKILL \(victim), started again")
                    await processes.kill(victim, SIGKILL)
                    try await processes.restart(victim)
                }
            } catch {
                note("fault step failed: \(error)")
            }
        }
    }

    private func runCommand(_ argv: [String]) async throws -> String {
        let child = try ChildProcess(argv[0], Array(argv.dropFirst()), log: "chaos-broker")
        let status = await child.exitStatus()
        guard status == 0 else { throw ValidationError("\(argv.joined(separator: " ")) failed (\(status)): \(child.output())") }
        return child.output()
    }
}
