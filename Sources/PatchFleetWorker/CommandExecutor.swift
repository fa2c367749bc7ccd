import PatchFleetCore

/// Carries out one saga command against the backends, the way every worker
/// does it: observe first, then act, so a redelivered task whose goal
/// already holds succeeds without acting twice. Returns the answer for the
/// saga; a backend failure becomes a failure answer carrying the backend's
/// own message, never a thrown error (a task always gets an answer).
///
/// The simulator's in-process driver has a model-level twin of this
/// (`DatacenterModel.perform`); `CommandExecutorTests` runs both on the
/// same datacenters and checks that they answer alike.
public struct CommandExecutor: Sendable {
    public let virtualization: any VirtualizationBackend
    public let updates: any UpdateBackend
    public let timing: ExecutorTiming
    /// Shared by the copies of this executor (a worker's concurrent tasks).
    let clusterHints = ClusterHints()

    public init(virtualization: any VirtualizationBackend, updates: any UpdateBackend, timing: ExecutorTiming = .wallClock()) {
        self.virtualization = virtualization
        self.updates = updates
        self.timing = timing
    }

    public func execute(_ command: SagaCommand) async -> EventBody {
        do throws(BackendError) {
            switch command.body {
            case .observeCluster(let ref): return .clusterObserved(try await observeCluster(of: ref.host))
            case .enterMaintenance(let request): return try await enterMaintenance(request)
            case .exitMaintenance(let ref):
                if try await virtualization.host(named: ref.host).status != .up {
                    try await virtualization.exitMaintenance(host: ref.host)
                }
                return .maintenanceExited
            case .checkHealth(let ref):
                let health = try await virtualization.hostHealth(ref.host)
                return .healthReported(HealthReport(healthy: health.responding && health.healthy, detail: health.detail))
            case .rebootHost(let ref): return try await reboot(ref.host)
            case .waitForHost(let request): return try await waitForHost(request)
            case .pollCompliance(let request):
                return .complianceReported(try await updates.compliance(host: request.host, updateIds: request.updateIds))
            case .deployUpdates(let request): return try await deploy(request)
            case .vmAction(let request): return await vmAction(request)
            case .failbackVM(let request): return await failback(request)
            case .wakeAt:
                throw BackendError(.internalError, "wakeAt is the coordinator's own timer, not a worker task")
            }
        } catch {
            return .commandFailed(CommandFailure(step: command.body.kind, error: error))
        }
    }

    // MARK: Hosts

    /// The host's cluster as the manager reports it now: its hosts and
    /// their VMs (`clusterSnapshot`, one call where the backend can). With a
    /// hint of the cluster, the cluster is read directly, and the read
    /// confirms the hint by naming the host; otherwise (first sight, a host
    /// moved, a standalone host) the host is looked up first. Each lookup
    /// saved is a manager query (a PowerShell session against VMM): one per
    /// VM a drain or failback moves.
    func observeCluster(of host: String) async throws(BackendError) -> ClusterSnapshot {
        if let cluster = clusterHints.cluster(of: host) {
            do throws(BackendError) {
                let snapshot = try await virtualization.clusterSnapshot(cluster: cluster)
                if snapshot.hosts.contains(where: { $0.name == host && $0.cluster == cluster }) { return snapshot }
            } catch where error.code != .notFound {
                // A timeout or an unreachable manager is the answer: the
                // hint may well be right, and asking again would only wait again.
                throw error
            } catch {
                // The cluster was renamed or removed: look the host up, as on first sight.
            }
            clusterHints.forget(host)
        }
        let target = try await virtualization.host(named: host)
        guard let cluster = target.cluster else {
            // A standalone host (no cluster) is never hinted. Its VMs by the
            // name the manager gives it (an FQDN where `host` may be short).
            return ClusterSnapshot(hosts: [target], vms: try await virtualization.listVMs(onHosts: [target.name]))
        }
        let snapshot = try await virtualization.clusterSnapshot(cluster: cluster)
        clusterHints.remember(snapshot.hosts)
        return snapshot
    }

    /// Observe, then act: a host already in maintenance is the goal reached.
    /// For a drained host the goal is the manager's real maintenance mode on
    /// an empty host, so it is checked before and read back after: a backend
    /// that only cordoned it, or a VM that arrived, is an error the saga
    /// handles (it looks at the host again), never a silent "done".
    func enterMaintenance(_ request: MaintenanceRequest) async throws(BackendError) -> EventBody {
        if try await virtualization.host(named: request.host).status == .maintenance { return .maintenanceEntered }
        if request.drained {
            let running = try await virtualization.listVMs(host: request.host).filter(\.power.consumesMemory).map(\.name)
            guard running.isEmpty else {
                throw BackendError(.invalidState, "host '\(request.host)' is not empty any more: \(running.sorted().joined(separator: ", ")) running on it")
            }
        }
        try await virtualization.enterMaintenance(host: request.host, migrateRunningVMs: false)
        if request.drained {
            let status = try await virtualization.host(named: request.host).status
            guard status == .maintenance else {
                throw BackendError(.invalidState, "host '\(request.host)' reads \(status.rawValue), not maintenance, after entering maintenance mode")
            }
        }
        return .maintenanceEntered
    }

    /// Never reboots a host that still runs VMs, whatever the saga asked.
    func reboot(_ host: String) async throws(BackendError) -> EventBody {
        if try await virtualization.host(named: host).status == .rebooting { return .rebootIssued }
        let running = try await virtualization.listVMs(host: host).filter(\.power.consumesMemory).map(\.name)
        guard running.isEmpty else {
            throw BackendError(.invalidState, "refusing to reboot '\(host)': VMs still running on it: \(running.sorted().joined(separator: ", "))")
        }
        try await updates.reboot(host: host)
        return .rebootIssued
    }

    /// One look, answered at once: is the host back from its restart and
    /// responding? A reboot takes minutes; waiting it out here would hold a
    /// deploy slot (and a task) for all of them. The saga looks again on a
    /// delayed timer until its reboot deadline (`HostSaga`, `hostNotBack`).
    func waitForHost(_ request: WaitForHostRequest) async throws(BackendError) -> EventBody {
        request.answer(try await lookAtHost(request.host))
    }

    /// nil: back, answering, its update client too, no restart pending.
    private func lookAtHost(_ name: String) async throws(BackendError) -> HostNotBack? {
        let host = try await virtualization.host(named: name)
        if host.status == .rebooting || host.status == .down { return .down(name, host.status) }
        guard try await virtualization.hostHealth(name).responding else { return .notResponding(name, host.status) }
        let pending: Bool
        do {
            pending = try await updates.pendingReboot(host: name)
        } catch where HostNotBack.isUpdateClientSilence(error) {
            return .updateClientSilent(name, host.status, error)
        }
        // A restart request returns before the host goes down: until it has,
        // the host answers with its restart still pending (the saga tells
        // that from a host that restarted and wants another).
        return pending ? .restartPending(name) : nil
    }

    func deploy(_ request: DeployRequest) async throws(BackendError) -> EventBody {
        try await updates.ensureCollection(request.collection)
        // Idempotent in every backend (ConfigMgr checks the rule and the
        // membership by ResourceID). Not guarded by the member list: it names
        // devices by NetBIOS name, and another domain's HV01 in the
        // collection would pass for our hv01.contoso.com.
        try await updates.addHost(request.host, toCollection: request.collection)
        try await updates.refreshPolicy(host: request.host)
        try await updates.triggerInstall(host: request.host, updateIds: request.updateIds)
        return .updatesDeployed
    }
}

/// The worker's sense of the backend's time, for polls and timeouts. Real
/// backends run in wall-clock time; a worker of the lab runs at the lab's
/// time scale (so a 30-minute reboot timeout means 30 simulated minutes);
/// tests drive a virtual clock.
public struct ExecutorTiming: Sendable {
    /// Backend time, in seconds from any fixed origin.
    public var now: @Sendable () -> Double
    /// Waits this many seconds of backend time.
    public var sleep: @Sendable (Double) async -> Void
    /// Backend seconds between two polls of a host that is coming back.
    public var pollSeconds: Double

    public init(now: @escaping @Sendable () -> Double, sleep: @escaping @Sendable (Double) async -> Void, pollSeconds: Double) {
        self.now = now
        self.sleep = sleep
        self.pollSeconds = pollSeconds
    }

    /// Wall-clock time sped up by `timeScale` (1 for real backends).
    public static func wallClock(timeScale: Double = 1, pollSeconds: Double = 15) -> ExecutorTiming {
        let origin = ContinuousClock.now
        return ExecutorTiming(
            now: {
                let elapsed = ContinuousClock.now - origin
                return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * timeScale
            },
            sleep: { seconds in try? await Task.sleep(for: .milliseconds(Int64(max(0, seconds / timeScale) * 1000))) },
            pollSeconds: pollSeconds)
    }
}
