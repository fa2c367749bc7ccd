import PatchFleetCore

/// VirtualizationBackend over Failover Clustering alone (no VMM), through
/// PowerShell on a cluster node or a management host with RSAT.
public struct FailoverClusterBackend: VirtualizationBackend {
    public let runner: PowerShellRunner
    /// The clusters this backend manages (Get-ClusterNode -Cluster each).
    public let clusters: [String]
    public let failback: ClusterFailback
    public let polling: JobPolling

    public init(runner: PowerShellRunner, clusters: [String], failback: ClusterFailback = .noFailback,
                polling: JobPolling = JobPolling()) {
        self.runner = runner
        self.clusters = clusters
        self.failback = failback
        self.polling = polling
    }

    public func listClusters() async throws(BackendError) -> [Cluster] {
        let reply = try await runner.run(ClusterScripts.listClusters(clusters), operation: "Get-Cluster")
        return reply.elements.compactMap { $0["name"].string }.map(Cluster.init(name:))
    }

    public func listHosts(cluster: String?) async throws(BackendError) -> [Host] {
        if let cluster, !clusters.contains(where: { $0.caseInsensitiveCompare(cluster) == .orderedSame }) {
            throw BackendError(.notFound, "cluster '\(cluster)' is not configured for this backend")
        }
        let reply = try await runner.run(ClusterScripts.listNodes(clusters, cluster: cluster), operation: "Get-ClusterNode")
        var hosts: [Host] = []
        for item in reply.elements { hosts.append(try ClusterDecoding.node(item).host) }
        return hosts
    }

    public func listVMs(host: String?) async throws(BackendError) -> [VM] {
        try await vmRecords(host: host, named: nil).map(\.vm)
    }

    /// The cluster's nodes and the VMs on them in one PowerShell session
    /// (the protocol's default is two: `listHosts`, then `listVMs(onHosts:)`).
    public func clusterSnapshot(cluster: String) async throws(BackendError) -> ClusterSnapshot {
        guard let configured = clusters.first(where: { $0.caseInsensitiveCompare(cluster) == .orderedSame }) else {
            throw BackendError(.notFound, "cluster '\(cluster)' is not configured for this backend")
        }
        let reply = try await runner.run(ClusterScripts.clusterSnapshot(clusters, cluster: configured),
                                         operation: "Get-ClusterNode and Get-ClusterGroup of cluster '\(configured)'")
        return try SnapshotDecoding.snapshot(reply, what: "the answer for cluster '\(configured)'",
                                             host: { (item) throws(BackendError) in try ClusterDecoding.node(item).host },
                                             vm: { (item) throws(BackendError) in try ClusterDecoding.vm(item).vm })
    }

    /// Just these nodes' VMs: a worker observes the node's cluster before
    /// every VM it moves, and the protocol's default would read every node
    /// of every configured cluster. Filtered again here, as the nodes report.
    public func listVMs(onHosts hosts: Set<String>) async throws(BackendError) -> [VM] {
        guard !hosts.isEmpty else { return [] }
        let reply = try await runner.run(ClusterScripts.listVMs(clusters, onHosts: hosts.sorted()), operation: "Get-ClusterGroup")
        return try SnapshotDecoding.vms(reply.elements, on: hosts, vm: { (item) throws(BackendError) in try ClusterDecoding.vm(item).vm })
    }

    func vmRecords(host: String?, named: String?) async throws(BackendError) -> [ClusterVMRecord] {
        let reply = try await runner.run(ClusterScripts.listVMs(clusters, host: host, named: named), operation: "Get-ClusterGroup")
        var records: [ClusterVMRecord] = []
        for item in reply.elements { records.append(try ClusterDecoding.vm(item)) }
        return records
    }

    func vmRecord(_ name: String) async throws(BackendError) -> ClusterVMRecord {
        let found = try await vmRecords(host: nil, named: name)
        guard let first = found.first else { throw BackendError(.notFound, "no configured cluster has a VM named '\(name)'") }
        guard found.count == 1 else { throw BackendError(.conflict, "\(found.count) VMs are named '\(name)'") }
        return first
    }

    public func host(named name: String) async throws(BackendError) -> Host {
        try await node(name).host
    }

    func node(_ name: String) async throws(BackendError) -> ClusterNodeRecord {
        try ClusterDecoding.node(try await runner.run(ClusterScripts.node(clusters, name: name), operation: "Get-ClusterNode '\(name)'"))
    }

    public func hostHealth(_ host: String) async throws(BackendError) -> HostHealth {
        let record = try await node(host)  // a down node is data (State Down), not an error
        return HostHealth(responding: record.state == "Up" || record.state == "Paused", healthy: record.host.healthy,
                          detail: "State \(record.state), DrainStatus \(record.drainStatus)")
    }

    /// Without `migrateRunningVMs` and with VMs still running, the node is
    /// only paused (VMs keep running, nothing new lands on it); the drain
    /// (Suspend-ClusterNode -Drain) runs once the node is empty or when the
    /// cluster is asked to move the VMs itself.
    public func enterMaintenance(host: String, migrateRunningVMs: Bool) async throws(BackendError) {
        var record = try await node(host)
        if record.host.status == .maintenance { return }
        guard record.state == "Up" || record.state == "Paused" else {
            throw BackendError(.invalidState, "cluster node '\(host)' is \(record.state): cannot drain it")
        }
        if !migrateRunningVMs {
            let running = try await vmRecords(host: host, named: nil).filter(\.vm.power.consumesMemory)
            if !running.isEmpty {
                if record.state == "Up" {
                    _ = try await runner.run(ClusterScripts.suspend(clusters, node: host, drain: false), operation: "Suspend-ClusterNode '\(host)'")
                }
                return
            }
        }
        if record.host.status != .draining {
            record = try ClusterDecoding.node(try await runner.run(ClusterScripts.suspend(clusters, node: host, drain: true),
                                                                   operation: "Suspend-ClusterNode '\(host)' -Drain"))
        }
        let deadline = ChildProcess.monotonicSeconds() + polling.timeoutSeconds
        while record.drainStatus != "Completed" {
            if record.drainStatus == "Failed" {
                throw BackendError(.migrationFailed, "Suspend-ClusterNode '\(host)' -Drain: DrainStatus Failed (see Get-ClusterLog; the node stays paused)")
            }
            guard ChildProcess.monotonicSeconds() < deadline else {
                throw BackendError(.timeout, "drain of cluster node '\(host)' still \(record.drainStatus) after \(Int(polling.timeoutSeconds)) s")
            }
            try await polling.pause("drain of '\(host)'")
            record = try await node(host)
        }
    }

    public func exitMaintenance(host: String) async throws(BackendError) {
        let record = try await node(host)
        guard record.state == "Paused" else { return }
        _ = try await runner.run(ClusterScripts.resume(clusters, node: host, failback: failback),
                                 operation: "Resume-ClusterNode '\(host)' -Failback \(failback.rawValue)")
    }

    public func liveMigrate(vm: String, to host: String) async throws(BackendError) {
        try await migrate(vm, to: host, .live)
    }

    public func quickMigrate(vm: String, to host: String) async throws(BackendError) {
        try await migrate(vm, to: host, .quick)
    }

    private func migrate(_ name: String, to host: String, _ type: ClusterScripts.Migration) async throws(BackendError) {
        let record = try await vmRecord(name)
        if sameHost(record.vm.host, host) { return }
        guard record.clustered else {
            throw BackendError(.invalidState, "VM '\(name)' is not a cluster role: Failover Clustering cannot migrate it")
        }
        guard record.vm.power.consumesMemory else {
            throw BackendError(.invalidState, "VM '\(name)' is \(record.vm.power.rawValue): nothing to migrate, move it instead")
        }
        do {
            // Synchronous: the call lasts as long as the migration itself.
            _ = try await runner.run(ClusterScripts.migrate(clusters, vm: name, cluster: record.cluster, to: host, type),
                                     operation: "Move-ClusterVirtualMachineRole '\(name)' -MigrationType \(type.rawValue)",
                                     timeoutSeconds: polling.timeoutSeconds)
        } catch where error.code == .internalError || error.code == .invalidState {
            throw BackendError(.migrationFailed, error.message, backendCode: error.backendCode)
        }
    }

    public func moveVM(vm name: String, to host: String) async throws(BackendError) {
        let record = try await vmRecord(name)
        if sameHost(record.vm.host, host) { return }
        guard record.clustered else { throw BackendError(.invalidState, "VM '\(name)' is not a cluster role: cannot move its ownership") }
        guard !record.vm.power.consumesMemory else {
            throw BackendError(.invalidState, "VM '\(name)' is \(record.vm.power.rawValue): only stopped or saved VMs are moved this way")
        }
        _ = try await runner.run(ClusterScripts.moveGroup(clusters, vm: name, cluster: record.cluster, to: host), operation: "Move-ClusterGroup '\(name)'")
    }

    public func saveState(vm name: String) async throws(BackendError) {
        let record = try await vmRecord(name)
        guard record.vm.power.consumesMemory else { return }
        try await power(record, .save, "Save-VM '\(name)'")
    }

    public func shutDown(vm name: String) async throws(BackendError) {
        let record = try await vmRecord(name)
        switch record.vm.power {
        case .stopped: return
        case .saved: throw BackendError(.invalidState, "VM '\(name)' is saved: start it before a guest shutdown")
        case .running, .paused: try await power(record, .shutdown, "Stop-VM '\(name)'")
        }
    }

    public func start(vm name: String) async throws(BackendError) {
        let record = try await vmRecord(name)
        if record.vm.power == .running { return }
        try await power(record, .start, "start '\(name)'")
    }

    private func power(_ record: ClusterVMRecord, _ action: ClusterScripts.Power, _ operation: String) async throws(BackendError) {
        // Synchronous too: a guest shutdown or a save can take minutes.
        _ = try await runner.run(ClusterScripts.power(clusters, vm: record.vm.name, host: record.vm.host, cluster: record.cluster,
                                                      clustered: record.clustered, action), operation: operation,
                                 timeoutSeconds: polling.timeoutSeconds)
    }
}
