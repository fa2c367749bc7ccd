import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetCore
import PatchFleetLab
import PatchFleetSupervisor
import PatchFleetWire

/// `patchfleet-bench fleet`: orchestration overhead. One job of N host sagas
/// on a zero-latency simulated datacenter, through the real broker, the lab,
/// a coordinator and workers as separate `patchfleet` processes (the same
/// `LocalFleet` as `patchfleet demo`); then, in the same run, the broker's
/// ceiling for the same message pattern from a raw librabbitmq loop.
struct FleetBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Host sagas/s, saga steps/s, step latency and CPU per saga through the real fleet, vs the raw broker ceiling.")

    @Option(help: "Broker URL (the private broker by default).")
    var url = ProcessInfo.processInfo.environment["PATCHFLEET_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5682/%2f"
    @Option(help: "Host sagas in the job.")
    var hosts = 2_000
    @Option(help: "Clusters they are spread over (one slot each, all in parallel).")
    var clusters = 200
    @Option(help: "VMs per host (each one a migration out and back).")
    var vmsPerHost = 2
    @Option(help: "Worker processes per role (drain, deploy, rebalance).")
    var workersPerRole = 1
    @Option(help: "Tasks each worker carries out at once.")
    var workerConcurrency = 16
    @Option(help: "The coordinator's --inventory-refresh-seconds: how long a scheduling tick may reuse its read of the inventory (0, its default with the lab: every tick; 15 with real managers).")
    var inventoryRefreshSeconds: Double = 0
    @Option(help: "The patchfleet executable. Default: next to this one (swift build -c release builds both).")
    var patchfleet: String?
    @Option(help: "Where the processes' logs and the store go. Default: a new temporary directory.")
    var runDirectory: String?
    @Option(help: "The broker's pid file, to report its CPU per saga for the fleet and the raw loop (skipped if unreadable; deploy/local/broker.sh writes this one).")
    var brokerPidFile = ".broker/patchfleet/rabbit.pid"
    @Option(help: "Give up after this many seconds.")
    var timeout: Double = 1_200

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let executable = patchfleet ?? URL(fileURLWithPath: currentExecutable()).deletingLastPathComponent()
            .appendingPathComponent("patchfleet").path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("no patchfleet executable at \(executable): run `swift build -c release` (both products) or pass --patchfleet")
        }
        let directory = runDirectory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("patchfleet-bench-fleet-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let shape = FleetShape(hosts: hosts, clusters: clusters, vmsPerHost: vmsPerHost)
        let labPath = "\(directory)/lab.json"
        try JSONEncoder().encode(shape.lab()).write(to: URL(fileURLWithPath: labPath))

        let config = try AMQPConfiguration(url: url)
        let connection = try await AMQPConnection.connect(config)
        let topology = FleetTopology(prefix: "bench-\(UUID().uuidString.prefix(8).lowercased())")
        let fleet = LocalFleet(directory: directory, url: url, topology: topology, timeScale: 1, executable: executable)
        print("fleet benchmark: \(hosts) hosts in \(clusters) clusters, \(vmsPerHost) VMs each, zero-latency lab; "
              + "\(workersPerRole) worker(s) per role x \(workerConcurrency); broker \(config.redactedURL); logs in \(directory)")
        fflush(nil)  // progress lines as they happen, even into a pipe

        let run: FleetRun
        var brokerBefore: Double?
        do {
            try await fleet.startLab(inventory: labPath)
            try await fleet.startCoordinator(catalog: labPath,
                                             extra: ["--inventory-refresh-seconds", String(inventoryRefreshSeconds)])
            try await fleet.startWorkers(perRole: workersPerRole, concurrency: workerConcurrency)
            brokerBefore = brokerCPU()
            run = try await FleetRun.submitAndFollow(shape.job(id: "bench-fleet"), connection: connection, topology: topology,
                                                     user: config.user, timeout: timeout)
        } catch {
            await fleet.stop(connection: connection)
            await connection.close()
            throw error
        }
        let brokerFleet = brokerCPU(since: brokerBefore)
        // The backend traffic the sagas caused: every lab call is a request
        // and a reply through the same broker (the raw loop has none).
        let labCalls = try? await LabClient.connect(connection: connection, requestQueue: fleet.labQueue, timeout: .seconds(10)).stats()
        // CPU before the processes exit (their /proc entries go with them).
        let usage = Dictionary(uniqueKeysWithValues: fleet.names.compactMap { name in
            fleet.pid(of: name).flatMap(ProcessUsage.of).map { (name, $0) }
        })
        await fleet.stop(connection: connection)
        let figures = try StoreFigures.read(path: fleet.store, tasksExchange: topology.tasksExchange,
                                            eventsExchange: topology.eventsExchange)
        let steps = figures.tasks + figures.timers
        print("  fleet: \(run.outcome) in \(String(format: "%.1f", run.seconds)) s; "
              + "\(figures.tasks) tasks, \(figures.timers) timers, \(figures.events) events, task body \(figures.meanTaskBytes) B")
        fflush(nil)

        /// The run's pattern through the raw loop, and the broker's CPU over it.
        func raw(calls: Int) async throws -> (seconds: Double, broker: Double?) {
            let before = brokerCPU()
            let seconds = try await RawSagaPattern(config: config, prefix: topology.prefix)
                .run(connection: connection, tasks: figures.tasks, timers: figures.timers, events: figures.events, calls: calls,
                     bodySize: max(figures.meanTaskBytes, 64), window: min(clusters, hosts))
            return (seconds, brokerCPU(since: before))
        }
        let calls = labCalls?.values.reduce(0, +) ?? 0
        let (rawSeconds, brokerRaw) = try await raw(calls: 0)
        // The same again with the lab's calls: everything the fleet sent through the broker.
        let (rawWithCallsSeconds, brokerRawCalls) = try await raw(calls: calls)
        await connection.close()

        let latency = Latencies(figures.stepLatencies.isEmpty ? [0] : figures.stepLatencies)
        let coordinator = usage["coordinator"]?.cpuSeconds ?? 0
        let workers = usage.filter { $0.key.hasPrefix("worker-") }.values.reduce(0) { $0 + $1.cpuSeconds }
        let lab = usage["lab"]?.cpuSeconds ?? 0
        func perSaga(_ seconds: Double?) -> String { seconds.map { String(format: "%9.4f", $0 / Double(hosts)) } ?? "      n/a" }
        print("")
        print("                               fleet          raw   raw + lab calls")
        print(String(format: "host sagas/s              %9.1f", Double(hosts) / run.seconds))
        print(String(format: "saga steps/s              %9.1f    %9.1f    %9.1f", Double(steps) / run.seconds, Double(steps) / rawSeconds,
                     Double(steps) / rawWithCallsSeconds))
        print(String(format: "step latency p50 (ms)     %9.1f", latency.p50 * 1000))
        print(String(format: "step latency p99 (ms)     %9.1f", latency.p99 * 1000))
        print(String(format: "coordinator CPU s/saga    %9.4f", coordinator / Double(hosts)))
        print(String(format: "worker CPU s/saga         %9.4f", workers / Double(hosts)))
        print(String(format: "lab CPU s/saga            %9.4f   (the simulated datacenter: the backends' side)", lab / Double(hosts)))
        print("broker CPU s/saga         \(perSaga(brokerFleet))    \(perSaga(brokerRaw))    \(perSaga(brokerRawCalls))")
        if let labCalls {
            let top = labCalls.sorted { $0.value > $1.value }.prefix(4).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print(String(format: "lab calls/saga            %9.1f", Double(calls) / Double(hosts))
                  + "   (each a request and a reply through the broker; most: \(top))")
        }
        print("")
        print(String(format: "fleet/(raw + lab calls) = %.2f   (the raw loop sending everything the fleet sent)",
                     rawWithCallsSeconds / run.seconds))
        print(String(format: "fleet/raw = %.2f", rawSeconds / run.seconds))
    }
}

extension FleetBenchmark {
    /// The broker's CPU seconds so far, if its pid file names a process here.
    func brokerCPU() -> Double? {
        guard let text = try? String(contentsOfFile: brokerPidFile, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return ProcessUsage.of(pid)?.cpuSeconds
    }

    /// The broker's CPU seconds since `before` (nil when either is unknown).
    func brokerCPU(since before: Double?) -> Double? {
        before.flatMap { before in brokerCPU().map { $0 - before } }
    }
}

/// Submits a job and waits for its end on the event stream.
struct FleetRun {
    var seconds: Double
    var outcome: String

    static func submitAndFollow(_ spec: JobSpec, connection: AMQPConnection, topology: FleetTopology, user: String,
                                timeout: Double) async throws -> FleetRun {
        let listen = "\(topology.prefix).bench.\(UUID().uuidString.prefix(8).lowercased())"
        _ = try await connection.declare(QueueSpec(listen, durable: false, exclusive: true, autoDelete: true))
        try await connection.bind(QueueBinding(queue: listen, exchange: topology.eventsExchange, routingKey: "job.#"))
        let consumer = try await connection.consume(queue: listen, prefetch: 100)
        let submission = JobSubmission(job: spec, requestedBy: "patchfleet-bench")
        var message = try WireEncoder.encode(submission, envelope: submission.envelope(
            messageId: UUID().uuidString, timestamp: UInt64(Date().timeIntervalSince1970), replyTo: listen))
        message.properties.userId = user
        let publication = topology.submission(message)
        let submitted = monotonicSeconds()
        try await connection.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                     mandatory: true)
        let deadline = submitted + timeout
        var accepted = submitted
        for try await delivery in consumer {
            delivery.ack()
            guard case .event(let event, _) = try? WireDecoder().decode(delivery) else { continue }
            switch event.event {
            case .jobRejected(let rejection):
                throw BenchError("job rejected: \(rejection.problems.map(\.description).joined(separator: "; "))")
            case .job(let change) where change.state == .accepted:
                accepted = monotonicSeconds()
            case .job(let change) where [.succeeded, .failed, .cancelled].contains(change.state):
                await consumer.cancel()
                return FleetRun(seconds: monotonicSeconds() - accepted, outcome: "\(change.state.rawValue) (\(change.reason ?? ""))")
            default:
                break
            }
            if monotonicSeconds() > deadline { break }
        }
        await consumer.cancel()
        throw BenchError("the job did not end within \(Int(timeout)) s")
    }
}
