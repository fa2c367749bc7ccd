import AMQP
import Foundation
import PatchFleetCore
import PatchFleetTestSupport
import PatchFleetWire
import Testing

/// Issue 5's end-to-end check: a real `patchfleet coordinator` process and
/// real `patchfleet worker` processes, all with `--backend config` (VMM +
/// ConfigMgr over PowerShell/SSH), patch a replayed two-node cluster. The
/// fake ssh is first on their PATH as `ssh` and replays a stateful VMM server
/// and ConfigMgr site (Fixtures/cluster-cycle.rules.json); the job goes in
/// and its events come out over the real broker, as in production.
@Suite("Fleet processes over VMM + ConfigMgr", .serialized, .timeLimit(.minutes(6)))
struct FleetOverRealBackendsTests {
    static var url: String {
        ProcessInfo.processInfo.environment["PATCHFLEET_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5682/%2f"
    }

    static let hosts = ["hv01", "hv02"]
    static let fqdn = ["hv01": "hv01.contoso.com", "hv02": "hv02.contoso.com"]

    @Test func coordinatorAndWorkerProcessesPatchAReplayedClusterInASafeOrder() async throws {
        let fleet = try await RealBackendFleet.start()
        let finished: JobStateChange
        var outcomes: [String: HostOutcome] = [:]
        do {
            try await fleet.submit()
            var final: JobStateChange?
            var iterator = fleet.events.makeAsyncIterator()
            while final == nil, let delivery = try await iterator.next() {
                delivery.ack()
                guard case .event(let event, _) = try WireDecoder().decode(delivery) else { continue }
                switch event.event {
                case .host(let change) where change.jobId == fleet.job.id && change.phase == .done:
                    outcomes[change.host] = change.outcome
                case .job(let change) where change.jobId == fleet.job.id && [.succeeded, .failed, .cancelled].contains(change.state):
                    final = change
                default: break
                }
            }
            finished = try #require(final, "the events ended before the job did")
        } catch {
            await fleet.stop()
            throw error
        }
        await fleet.stop()

        // The job and every host, as the coordinator announced them.
        #expect(finished.state == .succeeded, "\(finished.reason ?? "") \(fleet.processLogs())")
        for host in Self.hosts {
            #expect(outcomes[Self.fqdn[host]!]?.kind == .patched, "\(host): \(String(describing: outcomes[Self.fqdn[host]!]))")
        }

        // What the replayed servers saw, in the order they saw it (the fake
        // serialises every call through its state file).
        let calls = try fleet.fake.calls()
        let replies = try RulesFile.load(fleet.fake.rulesURL).rules.map(\.reply)
        #expect(!calls.isEmpty && calls.allSatisfy { $0.rule != nil }, "every call answered by a rule of the replay")
        #expect(Set(calls.map(\.host)) == ["127.0.0.2", "127.0.0.3"], "only the configured VMM server and site server")
        // The workers observe the cluster in one session (hosts and their VMs
        // together), never by the two-query fallback.
        #expect(calls.contains { $0.body.contains("vms = @(if ($pfOnHosts.Count -gt 0) { Get-SCVirtualMachine -VMMServer $pfVmm -All") })
        #expect(!calls.contains { $0.body.contains("Get-SCVMHost -VMHostCluster $c | ForEach-Object { PF-Host $_ }") })
        // The job names the site's software update group (the coordinator's
        // catalog has no list of that name): read once, at submission, with
        // what each host does not need of it (here: nothing), and its updates
        // are what every host installed (the compliance replies name them by
        // update GUID).
        #expect(calls.filter { $0.body.contains("Get-CMSoftwareUpdateGroup") && !$0.body.contains("SMS_UpdateComplianceStatus") }.count == 1)
        #expect(calls.filter { $0.body.contains("SMS_UpdateComplianceStatus") }.count == 1)
        #expect(calls.filter { $0.body.contains("$todo = @($all") }.allSatisfy {
            $0.body.contains("'1d7a3e3b-52a6-4e7c-9a62-2f2f5a1f0c11'") && $0.body.contains("'8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c'")
                && !$0.body.contains("0a4c2b7e") && !$0.body.contains("5f1e2d3c")
        }, "the group's unexpired updates, by GUID")
        var actions = calls.compactMap { ServerAction($0, reply: $0.rule.map { replies[$0] } ?? nil) }
        for i in actions.indices { actions[i].index = i }
        let trace = actions.map(\.description).joined(separator: "\n")

        var windows: [ClosedRange<Int>] = []
        for host in Self.hosts {
            let order = HostOrder(host, actions)
            // Restarted once its VMs were gone and it was closed to placement
            // or in maintenance mode, never before.
            let restart = try #require(order.firstRestart, "\(host) was never restarted:\n\(trace)")
            let closed = try #require(order.firstClosed, "\(host) was restarted without being cordoned or put in maintenance:\n\(trace)")
            #expect(closed < restart, "\(host): restarted before maintenance was requested:\n\(trace)")
            // The drain: every VM on the host when it closed was moved off after that, and none was left.
            let drained = order.drainMoves.map(\.vm)
            #expect(drained.sorted() == order.vmsOnHost(at: closed).sorted(), "\(host): drain moved \(drained):\n\(trace)")
            #expect(order.vmsOnHost(at: restart).isEmpty, "\(host): VMs on it when it was restarted:\n\(trace)")
            // Real maintenance mode (Disable-SCVMHost) after the drain, before the restart.
            // Drained or empty, the host is in the manager's real maintenance
            // mode (Disable-SCVMHost after its last VM move off) before its restart.
            #expect(order.inMaintenanceBeforeRestart, "\(host): Disable-SCVMHost not between its last VM move off and the restart:\n\(trace)")
            // Back in service only once the updates read as installed after the restart.
            let compliant = try #require(order.installedAfterRestart, "\(host): no compliant read after the restart:\n\(trace)")
            #expect(!order.reopenings.isEmpty, "\(host): never put back in service:\n\(trace)")
            #expect(order.reopenings.allSatisfy { $0 > compliant }, "\(host): back in service before it was compliant:\n\(trace)")
            if order.disables.first != nil {
                #expect(order.enables.contains { $0 > compliant }, "\(host): left in VMM maintenance mode:\n\(trace)")
            }
            // Rule 3: what left the host came back once it was in service again.
            for vm in drained {
                let back = order.movesHome(vm: vm)
                #expect(back.contains { $0 > order.reopenings.max() ?? Int.max }, "\(vm) not moved back to \(host):\n\(trace)")
            }
            windows.append(closed...(order.reopenings.max() ?? closed))
        }
        // maxUnavailablePerCluster 1: one host out of service at a time.
        #expect(!windows[0].overlaps(windows[1]), "both hosts out of service at once:\n\(trace)")
        // The replay's point: the running HA VM had to be live-migrated off hv01 (and came back, above).
        #expect(HostOrder("hv01", actions).drainMoves.map(\.vm) == ["web01"], "hv01's drain:\n\(trace)")

        // The replayed servers' final state: every host in service, the VM home and running.
        let state = try fleet.fake.state()
        for host in Self.hosts {
            #expect(state["\(host).mode"] == "normal" && state["\(host).overall"] == "OK", "\(host) left in maintenance: \(state)")
            #expect(state["\(host).placement"] == "true", "\(host) left closed to placement: \(state)")
            #expect(state["\(host).comm"] == "Responding" && state["\(host).power"] == "on", "\(host) not back: \(state)")
            #expect(state["\(host).kb"] == "installed", "\(host) updates: \(state)")
        }
        #expect(state["web01.host"] == "hv01" && state["web01.state"] == "Running", "web01 not home and running: \(state)")
    }
}

/// A coordinator process and one worker process per role, all with
/// `--backend config` and the fake ssh first on their PATH, on a fleet
/// topology of their own.
struct RealBackendFleet {
    let fake: FakeSSH
    let job: JobSpec
    let topology: FleetTopology
    let admin: AMQPConnection
    let events: AMQPConsumer
    let processes: [ChildProcess]

    static func start() async throws -> RealBackendFleet {
        let binary = patchfleetExecutable()
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw CommandFailed(description: "build the patchfleet executable first (swift build): no \(binary)")
        }
        let fake = try FakeSSH(rulesFile: "cluster-cycle.rules.json")
        // `ssh` on PATH is the fake: the configuration below is the one a
        // production worker would use (no sshPath), so nothing test-only
        // reaches the processes but their environment.
        let bin = fake.directory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("ssh").path, withDestinationPath: FakeSSH.executable)
        let path = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        // Loopback addresses only: were the fake ever not the `ssh` found, a
        // real ssh would go nowhere but this machine (and fail at once:
        // BatchMode, no such key).
        let configuration = fake.directory.appendingPathComponent("backends.yaml")
        try """
            datacenters:
              b44:
                virtualization:
                  kind: vmm
                  target: {host: 127.0.0.2, user: 'CONTOSO\\svc-patchfleet', identityFile: /etc/patchfleet/secrets/vmm01_ed25519}
                  jobPolling: {intervalSeconds: 0.2, timeoutSeconds: 600}
                updates:
                  kind: configMgr
                  siteCode: PS1
                  target: {host: 127.0.0.3, user: 'CONTOSO\\svc-patchfleet', identityFile: /etc/patchfleet/secrets/cm01_ed25519}
            """.write(to: configuration, atomically: true, encoding: .utf8)
        // The coordinator's own update lists do not have the one the job
        // names: that one is the site's software update group.
        let catalog = fake.directory.appendingPathComponent("update-lists.yaml")
        try """
            updateLists:
              - name: 2026-10 Cumulative Update
                updateIds: [KB5030211]
            """.write(to: catalog, atomically: true, encoding: .utf8)

        // Real backends run in real time: short waits come from the policy,
        // not from a sped-up clock.
        var policy = Policy()
        policy.pollIntervalSeconds = 1
        policy.settleDelaySeconds = 1
        policy.retryBackoffSeconds = 5
        let job = JobSpec(id: "cl44-\(UUID().uuidString.prefix(8).lowercased())", targets: JobTargets(clusters: ["CL44.contoso.com"]),
                          updates: UpdateSelection(updateList: "2026-11 Cumulative Update", deploymentCollection: "Patch Wave 1"),
                          policy: policy)

        let topology = FleetTopology(prefix: "test-realbackends-\(UUID().uuidString.prefix(8).lowercased())")
        let admin = try await AMQPConnection.connect(url: FleetOverRealBackendsTests.url)
        try await admin.declare(topology.topology)
        let eventsQueue = "\(topology.prefix).test-events"
        try await admin.declare(QueueSpec(eventsQueue, durable: false, autoDelete: true))
        try await admin.bind(QueueBinding(queue: eventsQueue, exchange: topology.eventsExchange, routingKey: "#"))
        let events = try await admin.consume(queue: eventsQueue, prefetch: 500)

        let environment = fake.environment.merging(["PATH": path]) { $1 }
        let backend = ["--backend", "config", "--backend-config", configuration.path, "--datacenter", "b44",
                       "--prefix", topology.prefix, "--url", FleetOverRealBackendsTests.url]
        var processes = [try ChildProcess(binary, ["coordinator", "--store", fake.directory.appendingPathComponent("coordinator.sqlite").path,
                                                   "--catalog", catalog.path] + backend,
                                          log: "realbackends-coordinator", environment: environment)]
        for role in Role.allCases {
            processes.append(try ChildProcess(binary, ["worker", "--roles", role.rawValue, "--poll-seconds", "1"] + backend,
                                              log: "realbackends-worker-\(role.rawValue)", environment: environment))
        }
        return RealBackendFleet(fake: fake, job: job, topology: topology, admin: admin, events: events, processes: processes)
    }

    /// Submits the job as any system would: on the control exchange.
    func submit() async throws {
        let publication = topology.submission(try WireEncoder.encode(JobSubmission(job: job, requestedBy: "realbackends-test")))
        try await admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                mandatory: true)
    }

    /// Every process must stop cleanly on SIGTERM; then everything declared is deleted.
    func stop() async {
        await events.cancel()
        for process in processes {
            process.kill(SIGTERM)
            #expect(await process.exitStatus() == 0, "\(process.output())")
        }
        for queue in topology.queues { _ = try? await admin.deleteQueue(queue.name) }
        for exchange in topology.exchanges { try? await admin.deleteExchange(exchange.name) }
        await admin.close()
    }

    func processLogs() -> String {
        processes.map { "--- \($0.logPath)\n" + String($0.output().suffix(4000)) }.joined(separator: "\n")
    }
}

/// The rules file as far as the test reads it: which reply each rule gives.
struct RulesFile: Decodable {
    struct Rule: Decodable { var reply: String? }
    var rules: [Rule]

    static func load(_ url: URL) throws -> RulesFile { try JSONDecoder().decode(RulesFile.self, from: Data(contentsOf: url)) }
}

extension FakeSSH {
    /// The replayed servers' state (FAKE_SSH_STATE) as it is now.
    func state() throws -> [String: String] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("state.json")))
        return ((object as? [String: Any]) ?? [:]).compactMapValues { $0 as? String }
    }
}

/// A call that changes a host or a VM, or reads a host's update state, as
/// the servers received it. Hosts are short names ("hv01").
struct ServerAction: CustomStringConvertible {
    enum Kind: Equatable {
        case cordon, uncordon, disable, enable, restart
        case move(vm: String)
        case compliance(installed: Bool)
    }

    var index: Int = 0
    var kind: Kind
    var host: String

    init?(_ call: FakeSSH.Call, reply: String?) {
        let body = call.body
        func quoted(after marker: String, in text: String) -> String? {
            guard let start = text.range(of: marker)?.upperBound, let end = text[start...].firstIndex(of: "'") else { return nil }
            return String(text[start..<end].prefix { $0 != "." })
        }
        if body.contains("Set-SCVMHost"), let host = quoted(after: "PF-FindHost '", in: body) {
            self.init(kind: body.contains("-AvailableForPlacement $false") ? .cordon : .uncordon, host: host)
        } else if body.contains("Disable-SCVMHost"), let host = quoted(after: "PF-FindHost '", in: body) {
            self.init(kind: .disable, host: host)
        } else if body.contains("Enable-SCVMHost"), let host = quoted(after: "PF-FindHost '", in: body) {
            self.init(kind: .enable, host: host)
        } else if body.contains("Move-SCVirtualMachine"), let vm = quoted(after: "PF-FindVM '", in: body),
                  let host = quoted(after: "PF-FindHost '", in: body) {
            self.init(kind: .move(vm: vm), host: host)
        } else if let host = quoted(after: "Restart-Computer -ComputerName '", in: body) {
            // Any call that may restart counts, whatever the client answered:
            // the order must be safe for the script, not only for this replay.
            self.init(kind: .restart, host: host)
        } else if body.contains("CCM_UpdateStatus"), let host = quoted(after: "New-CimSession -ComputerName '", in: call.script) {
            self.init(kind: .compliance(installed: reply == "configmgr/compliance-installed.json"), host: host)
        } else {
            return nil
        }
    }

    private init(kind: Kind, host: String) {
        self.kind = kind
        self.host = host
    }

    var description: String {
        switch kind {
        case .move(let vm): "\(index): move \(vm) -> \(host)"
        case .compliance(let installed): "\(index): compliance \(host)\(installed ? " (installed)" : "")"
        default: "\(index): \(kind) \(host)"
        }
    }
}

/// One host's part of the call sequence, as positions in it.
struct HostOrder {
    let host: String
    let actions: [ServerAction]
    /// Where each VM was after each action (the replay starts with web01 on hv01).
    private let placements: [[String: String]]
    private let initialPlacement: [String: String]

    init(_ host: String, _ actions: [ServerAction], initialPlacement: [String: String] = ["web01": "hv01"]) {
        self.host = host
        self.actions = actions
        self.initialPlacement = initialPlacement
        var placement = initialPlacement
        var placements: [[String: String]] = []
        for action in actions {
            if case .move(let vm) = action.kind { placement[vm] = action.host }
            placements.append(placement)
        }
        self.placements = placements
    }

    private func positions(_ kind: ServerAction.Kind) -> [Int] {
        actions.indices.filter { actions[$0].host == host && actions[$0].kind == kind }
    }

    var firstRestart: Int? { positions(.restart).first }
    var disables: [Int] { positions(.disable) }
    var enables: [Int] { positions(.enable) }
    /// Closed to new VMs: cordoned or put in maintenance mode.
    var firstClosed: Int? { (positions(.cordon) + disables).min() }
    /// Back in service: maintenance mode ended or placement allowed again.
    var reopenings: [Int] { positions(.uncordon) + enables }
    var installedAfterRestart: Int? {
        guard let restart = firstRestart else { return nil }
        return positions(.compliance(installed: true)).first { $0 > restart }
    }

    /// This host's drain: VMs moved away from it after it closed and before
    /// its restart (a later move away is another host's Rule 3 failback).
    var drainMoves: [(vm: String, at: Int)] {
        guard let closed = firstClosed, let restart = firstRestart else { return [] }
        return actions.indices.compactMap { i in
            guard i > closed, i < restart, case .move(let vm) = actions[i].kind, actions[i].host != host,
                  placement(before: i)[vm] == host else { return nil }
            return (vm, i)
        }
    }

    func movesHome(vm: String) -> [Int] { positions(.move(vm: vm)) }

    private func placement(before index: Int) -> [String: String] { index == 0 ? initialPlacement : placements[index - 1] }

    /// VMs placed on this host just before position `index`.
    func vmsOnHost(at index: Int) -> [String] { placement(before: index).filter { $0.value == host }.map(\.key) }

    /// Disable-SCVMHost after the drain's last move and before the restart.
    var inMaintenanceBeforeRestart: Bool {
        guard let restart = firstRestart else { return false }
        let lastMoveOff = drainMoves.last?.at ?? firstClosed ?? -1
        return disables.contains { $0 >= lastMoveOff && $0 < restart }
    }
}
