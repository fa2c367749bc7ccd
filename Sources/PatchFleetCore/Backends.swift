/// Health as the virtualization manager reports it.
public struct HostHealth: Codable, Sendable, Hashable {
    public var responding: Bool
    public var healthy: Bool
    public var detail: String
    public init(responding: Bool, healthy: Bool, detail: String) {
        self.responding = responding
        self.healthy = healthy
        self.detail = detail
    }
}

/// One update that failed to install, with the patch manager's code and text.
public struct UpdateFailure: Codable, Sendable, Hashable {
    public var updateId: String
    public var code: String
    public var message: String
    public init(updateId: String, code: String, message: String) {
        self.updateId = updateId
        self.code = code
        self.message = message
    }
}

/// Compliance of exactly the deployed updates (never every update the host reports).
public struct ComplianceReport: Codable, Sendable, Hashable {
    public var installed: [String]
    public var pending: [String]
    public var failed: [UpdateFailure]
    public var pendingReboot: Bool
    public init(installed: [String], pending: [String], failed: [UpdateFailure], pendingReboot: Bool) {
        self.installed = installed
        self.pending = pending
        self.failed = failed
        self.pendingReboot = pendingReboot
    }
}

/// The virtualization manager (VMM, Failover Clustering, or the simulator).
/// Workers call it observe-then-act, so every mutating call must tolerate
/// being asked for a state that already holds.
public protocol VirtualizationBackend: Sendable {
    func listClusters() async throws(BackendError) -> [Cluster]
    func listHosts(cluster: String?) async throws(BackendError) -> [Host]
    func listVMs(host: String?) async throws(BackendError) -> [VM]
    func host(named name: String) async throws(BackendError) -> Host
    func hostHealth(_ host: String) async throws(BackendError) -> HostHealth
    /// Puts the host in maintenance. With `migrateRunningVMs` the backend
    /// moves the running HA VMs itself; PatchFleet passes false and drains VM
    /// by VM so each VM can follow its own fallback chain.
    func enterMaintenance(host: String, migrateRunningVMs: Bool) async throws(BackendError)
    func exitMaintenance(host: String) async throws(BackendError)
    func liveMigrate(vm: String, to host: String) async throws(BackendError)
    func quickMigrate(vm: String, to host: String) async throws(BackendError)
    /// Moves a stopped or saved VM (no memory transfer).
    func moveVM(vm: String, to host: String) async throws(BackendError)
    func saveState(vm: String) async throws(BackendError)
    func shutDown(vm: String) async throws(BackendError)
    func start(vm: String) async throws(BackendError)
    /// The VMs on these hosts (one cluster's nodes): what a precheck or a
    /// drain observes. The default asks for every VM and keeps these hosts';
    /// a backend that can ask for less should, or each observation costs the
    /// whole datacenter (200,000 VMs in the `scale` bench).
    func listVMs(onHosts hosts: Set<String>) async throws(BackendError) -> [VM]
    /// A cluster's hosts and the VMs on them: what a worker reads before it
    /// acts on one of its hosts (precheck, each VM moved, drain check,
    /// failback). The default asks for the hosts, then for their VMs: two
    /// manager queries. A backend that can answer both in one should (the
    /// lab does: one request and one reply through the broker, not two).
    func clusterSnapshot(cluster: String) async throws(BackendError) -> ClusterSnapshot
    /// One VM by name wherever it is, or nil if the manager has none:
    /// strict (a VM in a state PatchFleet does not handle is an error, not
    /// "gone"), for the worker's look beyond the host's cluster.
    func findVM(named name: String) async throws(BackendError) -> VM?
}

extension VirtualizationBackend {
    public func listVMs(onHosts hosts: Set<String>) async throws(BackendError) -> [VM] {
        try await listVMs(host: nil).filter { hosts.contains($0.host) }
    }

    public func findVM(named name: String) async throws(BackendError) -> VM? {
        try await listVMs(host: nil).first { $0.name == name }
    }

    public func clusterSnapshot(cluster: String) async throws(BackendError) -> ClusterSnapshot {
        try await hostsThenTheirVMs(cluster: cluster)
    }

    /// `clusterSnapshot` as two queries: the default, and the fallback of a
    /// backend whose one-call form a peer may not know.
    public func hostsThenTheirVMs(cluster: String) async throws(BackendError) -> ClusterSnapshot {
        let hosts = try await listHosts(cluster: cluster)
        return ClusterSnapshot(hosts: hosts, vms: try await listVMs(onHosts: Set(hosts.map(\.name))))
    }
}

/// The update manager (ConfigMgr, Windows Update, or the simulator).
public protocol UpdateBackend: Sendable {
    func collectionMembers(_ collection: String) async throws(BackendError) -> [String]
    func ensureCollection(_ collection: String) async throws(BackendError)
    /// Idempotent: a host already in the collection (by rule or by
    /// membership) is left as it is. The worker calls it at every deploy.
    func addHost(_ host: String, toCollection collection: String) async throws(BackendError)
    func refreshPolicy(host: String) async throws(BackendError)
    func triggerInstall(host: String, updateIds: [String]) async throws(BackendError)
    func compliance(host: String, updateIds: [String]) async throws(BackendError) -> ComplianceReport
    func pendingReboot(host: String) async throws(BackendError) -> Bool
    func reboot(host: String) async throws(BackendError)
    /// The patch manager's own list of updates by this name (ConfigMgr: a
    /// software update group), read when a job names an update list the
    /// coordinator's file does not have; nil when the manager has no list
    /// of that name or keeps none.
    func updateList(named name: String) async throws(BackendError) -> UpdateList?
    /// For a list this manager answered (`updateList(named:)`): by host, the
    /// ids of the list the manager knows the host does not need (not
    /// applicable, or superseded on it). A host with nothing left is not
    /// patched at all; one the manager has not heard from about an update
    /// keeps it. A host the manager has no record of is an error (its
    /// deploy could only fail, after the drain). Read once, at submission.
    func updatesNotNeeded(in list: UpdateList, onHosts hosts: [String]) async throws(BackendError) -> [String: Set<String>]
}

extension UpdateBackend {
    /// A manager without named lists of its own: jobs name the lists of the
    /// coordinator's `--update-lists` file, or update ids.
    public func updateList(named name: String) async throws(BackendError) -> UpdateList? { nil }
    public func updatesNotNeeded(in list: UpdateList, onHosts hosts: [String]) async throws(BackendError) -> [String: Set<String>] { [:] }
}
