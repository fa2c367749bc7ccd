import AMQP
import Foundation
import PatchFleetCore
import PatchFleetLab
import PatchFleetSimulator
import PatchFleetStore
import PatchFleetTestSupport
import PatchFleetWire
import Testing

/// The fleet end to end over the real broker: a coordinator process (SQLite
/// store) and three worker processes (one per role), patching the example
/// datacenter from docs/examples served by the lab (in this process, so the
/// test reads its history directly).
@Suite("Fleet end to end", .serialized, .timeLimit(.minutes(3)))
struct FleetEndToEndTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/examples")
    static var url: String {
        ProcessInfo.processInfo.environment["PATCHFLEET_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5682/%2f"
    }

    @Test func theExampleJobRunsThroughTheFleetAndKeepsEveryInvariant() async throws {
        let fleet = try await FleetHarness.start(timeScale: 2_000)
        try await fleet.submit()
        // Another terminal follows the job it did not submit.
        _ = try #require(try await fleet.nextJobEvent { $0.state == .accepted })
        let watch = try ChildProcess(patchfleetExecutable(), ["watch", fleet.job.id] + fleet.brokerArguments, log: "e2e-watch")
        // And another on a terminal (a pseudo-terminal from util-linux's script).
        let command = ([patchfleetExecutable(), "watch", fleet.job.id] + fleet.brokerArguments).joined(separator: " ")
        let watchOnTerminal = try ChildProcess("/usr/bin/script", ["-qfec", command, "/dev/null"], log: "e2e-watch-tty",
                                               environment: ["COLUMNS": "100", "TERM": "xterm"])
        let finished = try #require(try await fleet.nextJobEvent { [.succeeded, .failed, .cancelled].contains($0.state) })
        #expect(finished.jobId == fleet.job.id)
        #expect(await watch.exitStatus() == 1, "the job failed (TYO-H2), so watch exits 1: \(watch.output())")
        #expect(watch.output().contains("Per-host outcome") && watch.output().contains("TYO-H2"), "\(watch.output())")
        // Through a pipe: plain lines, one per change, no escape codes.
        #expect(!watch.output().contains("\u{1B}"), "\(watch.output())")
        #expect(watch.output().split(separator: "\n").contains { $0.contains("SEA-H2") && $0.contains("draining") })
        // On a terminal: bars per cluster redrawn in place, the outcome lines above them.
        #expect(await watchOnTerminal.exitStatus() == 1)
        let screen = watchOnTerminal.output()
        #expect(screen.contains("\u{1B}[J"), "redrawn in place: \(screen)")
        for cluster in ["Seattle", "Dublin", "Tokyo"] {
            #expect(screen.split(separator: "\n").contains { $0.contains(cluster) && $0.contains("█") },
                    "\(cluster)'s bar")
        }
        #expect(screen.contains("11/11 hosts done"), "\(screen)")
        #expect(screen.contains("-> HELD"), "outcomes are printed above the bars")
        #expect(screen.contains("Per-host outcome"))

        // status and jobs ask the running coordinator over the broker.
        let status = try await runCommand([patchfleetExecutable(), "status", fleet.job.id] + fleet.brokerArguments)
        #expect(status.contains("finished"), "\(status)")
        #expect(status.split(separator: "\n").contains { $0.contains("DUB-H2") && $0.contains("held") }, "\(status)")
        #expect(status.split(separator: "\n").contains { $0.contains("SEA-H2") && $0.contains("patched") }, "\(status)")
        let jobs = try await runCommand([patchfleetExecutable(), "jobs"] + fleet.brokerArguments)
        #expect(jobs.split(separator: "\n").contains { $0.contains(fleet.job.id) && $0.contains("finished") && $0.contains("held 3") }, "\(jobs)")
        do {
            _ = try await runCommand([patchfleetExecutable(), "status", "no-such-job"] + fleet.brokerArguments)
            Issue.record("status of a job that does not exist succeeded")
        } catch let failure as CommandFailed {
            #expect(failure.description.contains("there is no job 'no-such-job'"))
        }
        // The run report: asked of the running coordinator, read from its store, and written by it at the job's end.
        let json = try await runCommand([patchfleetExecutable(), "report", fleet.job.id, "--format", "json"] + fleet.brokerArguments)
        let remote = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(remote["jobId"] as? String == fleet.job.id)
        let clusters = try #require(remote["clusters"] as? [[String: Any]])
        #expect(clusters.flatMap { ($0["hosts"] as? [[String: Any]]) ?? [] }.count == 11)
        let markdown = try await runCommand([patchfleetExecutable(), "report", fleet.job.id, "--format", "markdown",
                                             "--store", fleet.storePath])
        #expect(markdown.contains("### TYO-H2") && markdown.contains("0x80070643"), "\(markdown)")
        let written = try String(contentsOfFile: fleet.storePath + ".reports/\(fleet.job.id).html", encoding: .utf8)
        #expect(written.contains("<svg class=\"gantt\"") && written.contains("data-host=\"SEA-H2\""))
        let report = try await fleet.report()
        #expect(report.isComplete)
        #expect(report.host("DUB-H2")?.outcome?.kind == .held, "Rule 1")
        #expect(report.host("BRANCH-01")?.outcome?.kind == .held, "standalone host")
        #expect(report.host("TYO-H2")?.outcome?.reason?.contains("0x80070643") == true, "the failing install")
        #expect(report.host("SEA-H2")?.outcome?.kind == .patched)
        #expect(fleet.datacenter.inventory.vm(named: "test-sql")?.host == "SEA-H2", "Rule 2 then Rule 3: moved off and back")
        #expect(finished.state == .failed, "TYO-H2's install failed for good")
        #expect(fleet.violations(report).isEmpty, "\(fleet.violations(report))")
        try await fleet.stop()
    }

    /// Every worker gone: the saga-level timeouts still end the job, on the
    /// coordinator's clock, with every host untouched and the reason given.
    @Test func aJobWithNoWorkerToAnswerEndsOnSagaTimeouts() async throws {
        // A short wall-clock floor: the test wants the timeouts, not 30 s waits.
        let fleet = try await FleetHarness.start(timeScale: 2_000, roles: [], coordinatorArguments: ["--minimum-task-wait-seconds", "1"]) { job in
            job.policy.taskTimeoutSeconds = 120
            job.policy.maxRetriesPerHost = 1
            job.policy.retryBackoffSeconds = 30
        }
        try await fleet.submit()
        // A result no worker signed, for a saga of the job: refused, not applied.
        let forged = ResultMessage(answering: SagaCommand(sagaId: "\(fleet.job.id):SEA-H1", jobId: fleet.job.id, host: "SEA-H1",
                                                          cluster: "Seattle", sagaVersion: 1, issuedAt: Instant(secondsSinceEpoch: 0),
                                                          body: .observeCluster(HostRef(host: "SEA-H1"))),
                                   taskMessageId: "forged-task", at: Instant(secondsSinceEpoch: 0), .clusterObserved(ClusterSnapshot(hosts: [], vms: [])))
        let publication = fleet.topology.result(try WireEncoder.encode(forged, messageId: "forged-result"))
        try await fleet.admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey)
        let finished = try #require(try await fleet.nextJobEvent { [.succeeded, .failed, .cancelled].contains($0.state) })
        #expect(finished.state == .failed)
        let dead = try await fleet.admin.consume(queue: fleet.topology.deadQueue, prefetch: 10)
        var iterator = dead.makeAsyncIterator()
        let refused = try #require(try await iterator.next())
        #expect(refused.properties.messageId == "forged-result")
        #expect(refused.properties.headers?[DeadLetterHeader.reason]?.stringValue?.contains("result refused: unsigned") == true)
        refused.ack()
        await dead.cancel()
        let report = try await fleet.report()
        #expect(report.isComplete)
        let failed = report.hosts.filter { $0.outcome?.kind == .failed }
        #expect(!failed.isEmpty)
        for host in failed {
            #expect(host.outcome?.reason?.contains("no answer to observeCluster") == true, "\(host.host): \(String(describing: host.outcome))")
        }
        #expect(report.hosts.allSatisfy { [.failed, .skipped, .held].contains($0.outcome?.kind) }, "nothing patched without workers")
        #expect(!fleet.datacenter.history.contains { $0.actor == .patchfleet }, "no worker, so nothing was touched")
        #expect(fleet.violations(report).isEmpty, "\(fleet.violations(report))")
        try await fleet.stop()
    }

    @Test func aJobCancelledMidRunEndsWithEveryHostSafe() async throws {
        let fleet = try await FleetHarness.start(timeScale: 300)  // slower: the cancel lands mid-run
        try await fleet.submit()
        // Once the first host is done, cancel.
        _ = try #require(try await fleet.nextHostEvent { $0.phase == .done && $0.outcome?.kind == .patched })
        let cancel = JobControlRequest(jobId: fleet.job.id, action: .cancel, reason: "change window closed")
        let publication = fleet.topology.control(cancel, try WireEncoder.encode(cancel))
        try await fleet.admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                      mandatory: true)
        let finished = try #require(try await fleet.nextJobEvent { [.succeeded, .failed, .cancelled].contains($0.state) })
        #expect(finished.state == .cancelled)
        let report = try await fleet.report()
        #expect(report.isComplete, "every host has an outcome")
        #expect(report.count(.cancelled) > 0, "hosts not started are cancelled")
        #expect(report.count(.patched) >= 1)
        // No host is left in a maintenance PatchFleet started, unless held for a person with the reason.
        for host in fleet.datacenter.inventory.hosts where host.status == .maintenance {
            let outcome = report.host(host.name)?.outcome
            #expect(outcome?.inMaintenance == true && outcome?.reason != nil, "\(host.name) left in maintenance: \(String(describing: outcome))")
        }
        #expect(fleet.violations(report).isEmpty, "\(fleet.violations(report))")
        try await fleet.stop()
    }
}

/// The example lab in this process, a coordinator process and a worker
/// process per role, on a fleet topology of their own.
struct FleetHarness {
    let lab: LabConfiguration
    let job: JobSpec
    let topology: FleetTopology
    let labQueue: String
    let admin: AMQPConnection
    let datacenter: SimulatedDatacenter
    let labTask: Task<Void, Error>
    let processes: [ChildProcess]
    let storeDirectory: URL
    let events: AMQPConsumer
    /// The broker every process of this fleet uses.
    let url: String

    var storePath: String { storeDirectory.appendingPathComponent("coordinator.sqlite").path }
    /// What a CLI on another machine would pass to reach this fleet.
    var brokerArguments: [String] { ["--prefix", topology.prefix, "--url", url] }

    /// `roles`: the worker processes to start (one per role); `adjust` edits the example job.
    /// `submitters`: a submitter policy (YAML text) for the coordinator.
    /// `url`: the broker, for the test and every process (amqps:// for TLS).
    static func start(timeScale: Double, roles: [Role] = Role.allCases, submitters: String? = nil,
                      coordinatorArguments: [String] = [], url: String = FleetEndToEndTests.url,
                      adjust: (inout JobSpec) -> Void = { _ in }) async throws -> FleetHarness {
        let examples = FleetEndToEndTests.examples
        let lab = try LabConfiguration.load(contentsOf: examples.appendingPathComponent("inventory.yaml"))
        var job = try JobSpecLoader.load(contentsOf: examples.appendingPathComponent("job.yaml"))
        adjust(&job)
        let topology = FleetTopology(prefix: "test-e2e-\(UUID().uuidString.prefix(8).lowercased())")
        let labQueue = "\(topology.prefix).lab"
        let admin = try await AMQPConnection.connect(url: url)
        try await admin.declare(topology.topology)
        try await admin.declare(LabServer.queueSpec(labQueue))
        let eventsQueue = "\(topology.prefix).test-events"
        try await admin.declare(QueueSpec(eventsQueue, durable: false, autoDelete: true))
        try await admin.bind(QueueBinding(queue: eventsQueue, exchange: topology.eventsExchange, routingKey: "#"))
        let events = try await admin.consume(queue: eventsQueue, prefetch: 500)

        let datacenter = SimulatedDatacenter(configuration: lab, clock: ScaledWallClock(
            start: Instant(secondsSinceEpoch: 1_800_000_000), timeScale: timeScale))
        let labTask = Task { try await LabServer(datacenter: datacenter, connection: admin, queue: labQueue).run() }

        let binary = patchfleetExecutable()
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw CommandFailed(description: "build the patchfleet executable first (swift build): no \(binary)")
        }
        let storeDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: storeDirectory, withIntermediateDirectories: true)
        // Signed tasks and results across the processes, as in production.
        try Keyring.newSecret().write(to: storeDirectory.appendingPathComponent("k1.key"), atomically: true, encoding: .utf8)
        try "signing: k1\nkeys:\n  - id: k1\n    secretFile: k1.key\n"
            .write(to: storeDirectory.appendingPathComponent("keyring.yaml"), atomically: true, encoding: .utf8)
        let common = ["--time-scale", String(timeScale), "--prefix", topology.prefix, "--lab-queue", labQueue,
                      "--url", url, "--keyring", storeDirectory.appendingPathComponent("keyring.yaml").path]
        var policy: [String] = []
        if let submitters {
            let path = storeDirectory.appendingPathComponent("submitters.yaml")
            try submitters.write(to: path, atomically: true, encoding: .utf8)
            policy = ["--submitters", path.path]
        }
        var processes = [try ChildProcess(binary, ["coordinator", "--store", storeDirectory.appendingPathComponent("coordinator.sqlite").path,
                                                   "--catalog", examples.appendingPathComponent("inventory.yaml").path] + policy
                                                   + coordinatorArguments + common,
                                          log: "e2e-coordinator")]
        for role in roles {
            processes.append(try ChildProcess(binary, ["worker", "--roles", role.rawValue, "--concurrency", "4"] + common,
                                              log: "e2e-worker-\(role.rawValue)"))
        }
        return FleetHarness(lab: lab, job: job, topology: topology, labQueue: labQueue, admin: admin, datacenter: datacenter,
                            labTask: labTask, processes: processes, storeDirectory: storeDirectory, events: events, url: url)
    }

    /// Submits the example job as any system would: on the control exchange.
    /// `user`: the AMQP user_id to send (RabbitMQ checks it against the connection's user, guest here).
    func submit(_ spec: JobSpec? = nil, user: String? = nil) async throws {
        var message = try WireEncoder.encode(JobSubmission(job: spec ?? job, requestedBy: "e2e-test"))
        message.properties.userId = user
        let publication = topology.submission(message)
        try await admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                mandatory: true)
    }

    func nextJobEvent(_ matching: (JobStateChange) -> Bool) async throws -> JobStateChange? {
        try await nextEvent { if case .job(let change) = $0, matching(change) { change } else { nil } }
    }

    func nextHostEvent(_ matching: (HostStateChange) -> Bool) async throws -> HostStateChange? {
        try await nextEvent { if case .host(let change) = $0, matching(change) { change } else { nil } }
    }

    private func nextEvent<T>(_ pick: (FleetEventBody) -> T?) async throws -> T? {
        var iterator = events.makeAsyncIterator()
        while let delivery = try await iterator.next() {
            delivery.ack()
            guard case .event(let event, _) = try WireDecoder().decode(delivery) else { continue }
            if let found = pick(event.event) { return found }
        }
        return nil
    }

    /// Events as they come, with their bodies and envelopes, up to and
    /// including the first for which `isLast` is true.
    func events(until isLast: (FleetEventBody) -> Bool) async throws -> [(event: FleetEventBody, body: Data, envelope: Envelope)] {
        var seen: [(event: FleetEventBody, body: Data, envelope: Envelope)] = []
        var iterator = events.makeAsyncIterator()
        while let delivery = try await iterator.next() {
            delivery.ack()
            guard case .event(let event, let envelope) = try WireDecoder().decode(delivery) else { continue }
            seen.append((event.event, delivery.body, envelope))
            if isLast(event.event) { return seen }
        }
        return seen
    }

    func report(jobId: String? = nil) async throws -> JobReport {
        guard let report = try await SQLiteSagaStore(path: storePath).job(id: jobId ?? job.id)?.report else {
            throw CommandFailed(description: "the job has no report in the store")
        }
        return report
    }

    func violations(_ report: JobReport, policy: Policy? = nil) -> [InvariantViolation] {
        InvariantChecker(policy: policy ?? job.policy).check(initial: lab.inventory, history: datacenter.history,
                                                             final: datacenter.inventory, report: report)
    }

    /// Every process must stop cleanly on SIGTERM; then everything declared is deleted.
    func stop() async throws {
        await events.cancel()
        for process in processes {
            process.kill(SIGTERM)
            #expect(await process.exitStatus() == 0, "\(process.output())")
        }
        labTask.cancel()
        _ = try? await labTask.value
        for queue in topology.queues { _ = try? await admin.deleteQueue(queue.name) }
        for exchange in topology.exchanges { try? await admin.deleteExchange(exchange.name) }
        _ = try? await admin.deleteQueue(labQueue)
        await admin.close()
        try? FileManager.default.removeItem(at: storeDirectory)
    }
}
