import PatchFleetCore

/// VirtualizationBackend over System Center VMM, through PowerShell on the
/// VMM server (or any host with the VMM console installed).
///
/// Every mutation observes first and returns without acting when the asked
/// state already holds, so a redelivered task is harmless. Mutations start a
/// VMM job (-RunAsynchronously -JobVariable) and poll Get-SCJob, so one call
/// never holds an SSH session for the length of a migration.
public struct VMMBackend: VirtualizationBackend {
    public let runner: PowerShellRunner
    /// The VMM server as Get-SCVMMServer names it ("localhost" when the
    /// management host is the VMM server).
    public let server: String
    public let polling: JobPolling

    public init(runner: PowerShellRunner, server: String = "localhost", polling: JobPolling = JobPolling()) {
        self.runner = runner
        self.server = server
        self.polling = polling
    }

    // MARK: Reads

    public func listClusters() async throws(BackendError) -> [Cluster] {
        let reply = try await runner.run(VMMScripts.listClusters(server: server), operation: "Get-SCVMHostCluster")
        return reply.elements.compactMap { $0["name"].string }.map(Cluster.init(name:))
    }

    public func listHosts(cluster: String?) async throws(BackendError) -> [Host] {
        try await hostRecords(cluster: cluster).map(\.host)
    }

    func hostRecords(cluster: String?) async throws(BackendError) -> [VMMHostRecord] {
        let reply = try await runner.run(VMMScripts.listHosts(server: server, cluster: cluster), operation: "Get-SCVMHost")
        var records: [VMMHostRecord] = []
        for item in reply.elements { records.append(try VMMDecoding.host(item)) }
        return records
    }

    /// One host's VMs, strictly: a VM in a state PatchFleet does not handle
    /// is an error, since the caller is about to act on that host. Every VM
    /// (`host` nil, the coordinator's inventory and a lookup by name) leaves
    /// out VMs stored in the library (on no host) and, with a notice, VMs
    /// in a state PatchFleet does not handle (starting, saving, missing
    /// files, ...): one such VM anywhere must not stop every job's
    /// validation and scheduling. Workers observe a host's cluster strictly
    /// before they touch it, so such a VM still stops its own host's saga.
    public func listVMs(host: String?) async throws(BackendError) -> [VM] {
        let reply = try await runner.run(VMMScripts.listVMs(server: server, host: host), operation: "Get-SCVirtualMachine")
        var vms: [VM] = []
        for item in reply.elements {
            if host == nil && (item["host"].string ?? "").isEmpty { continue }
            do {
                vms.append(try VMMDecoding.vm(item))
            } catch where host == nil && error.code == .invalidState {
                runner.logger.notice("left out of the inventory: \(error.message)")
            }
        }
        return vms
    }

    /// Just these hosts' VMs: a worker observes the host's cluster before
    /// every VM it moves. Filtered again here: names are compared as VMM
    /// reports them, and a host with no VMs is simply absent.
    public func listVMs(onHosts hosts: Set<String>) async throws(BackendError) -> [VM] {
        guard !hosts.isEmpty else { return [] }
        let reply = try await runner.run(VMMScripts.listVMs(server: server, onHosts: hosts.sorted()),
                                         operation: "Get-SCVirtualMachine on \(hosts.count) host(s)")
        return try SnapshotDecoding.vms(reply.elements, on: hosts, vm: VMMDecoding.vm)
    }

    /// The cluster's hosts and their VMs in one PowerShell session (the
    /// protocol's default is two: `listHosts`, then `listVMs(onHosts:)`).
    public func clusterSnapshot(cluster: String) async throws(BackendError) -> ClusterSnapshot {
        let reply = try await runner.run(VMMScripts.clusterSnapshot(server: server, cluster: cluster),
                                         operation: "Get-SCVMHost and Get-SCVirtualMachine of cluster '\(cluster)'")
        return try SnapshotDecoding.snapshot(reply, what: "VMM's answer for cluster '\(cluster)'",
                                             host: { (item) throws(BackendError) in try VMMDecoding.host(item).host },
                                             vm: VMMDecoding.vm)
    }

    public func host(named name: String) async throws(BackendError) -> Host {
        try await hostRecord(name).host
    }

    func hostRecord(_ name: String) async throws(BackendError) -> VMMHostRecord {
        try VMMDecoding.host(try await runner.run(VMMScripts.host(server: server, name: name), operation: "Get-SCVMHost '\(name)'"))
    }

    /// Strict, unlike the every-VM listing that leaves out VMs in passing
    /// states: a VM being saved elsewhere is not "gone".
    public func findVM(named name: String) async throws(BackendError) -> VM? {
        do { return try await vm(name) } catch where error.code == .notFound { return nil }
    }

    func vm(_ name: String) async throws(BackendError) -> VM {
        try VMMDecoding.vm(try await runner.run(VMMScripts.vm(server: server, name: name), operation: "Get-SCVirtualMachine '\(name)'"))
    }

    public func hostHealth(_ host: String) async throws(BackendError) -> HostHealth {
        // A host VMM cannot reach is data (CommunicationState); an error here
        // is about the VMM server or the SSH hop and must surface as such.
        let record = try await hostRecord(host)
        return HostHealth(responding: record.responding, healthy: record.host.healthy,
                          detail: "OverallState \(record.overallState.isEmpty ? "unknown" : record.overallState)")
    }

    // MARK: Maintenance

    /// With `migrateRunningVMs`: Disable-SCVMHost -MoveWithinCluster (VMM
    /// moves the HA VMs). Without it, Disable-SCVMHost would put every running
    /// VM in saved state — users cut off — so while VMs still run the host is
    /// only made unavailable for placement (reads back as `.paused`), and the
    /// real maintenance mode starts on a later call once the host is empty.
    public func enterMaintenance(host: String, migrateRunningVMs: Bool) async throws(BackendError) {
        let record = try await hostRecord(host)
        if record.host.status == .maintenance { return }
        guard record.responding else {
            throw BackendError(.unreachable, "VMM reports host '\(host)' as \(record.overallState): cannot start maintenance mode")
        }
        if !migrateRunningVMs {
            let running = try await listVMs(host: host).filter(\.power.consumesMemory)
            if !running.isEmpty {
                if record.availableForPlacement {
                    try await runJob(VMMScripts.setAvailableForPlacement(server: server, host: host, false),
                                     "Set-SCVMHost '\(host)' -AvailableForPlacement $false", failure: .invalidState)
                }
                return
            }
        }
        try await runJob(VMMScripts.disableHost(server: server, host: host, moveWithinCluster: migrateRunningVMs),
                         "Disable-SCVMHost '\(host)'", failure: .invalidState)
    }

    public func exitMaintenance(host: String) async throws(BackendError) {
        let record = try await hostRecord(host)
        if record.host.status == .maintenance {
            try await runJob(VMMScripts.enableHost(server: server, host: host), "Enable-SCVMHost '\(host)'", failure: .invalidState)
        }
        if !record.availableForPlacement {
            try await runJob(VMMScripts.setAvailableForPlacement(server: server, host: host, true),
                             "Set-SCVMHost '\(host)' -AvailableForPlacement $true", failure: .invalidState)
        }
    }

    // MARK: VMs

    public func liveMigrate(vm name: String, to host: String) async throws(BackendError) {
        let current = try await vm(name)
        if sameHost(current.host, host) { return }
        guard current.power == .running else {
            throw BackendError(.invalidState, "VM '\(name)' is \(current.power.rawValue), not running: live migration does not apply")
        }
        try await move(name, to: host)
    }

    /// VMM has no quick-migration cmdlet: save state, move the saved VM,
    /// start it on the target — what Failover Clustering's quick migration
    /// does. Each step is observed, so a retry resumes where it stopped.
    public func quickMigrate(vm name: String, to host: String) async throws(BackendError) {
        var current = try await vm(name)
        if !sameHost(current.host, host) {
            if current.power.consumesMemory {
                try await runJob(VMMScripts.power(server: server, vm: name, .saveState), "Stop-SCVirtualMachine '\(name)' -SaveState",
                                 failure: .migrationFailed)
            }
            try await move(name, to: host)
            current.power = current.power.consumesMemory ? .saved : current.power
        }
        if current.power == .saved || current.power == .paused {
            try await runJob(VMMScripts.power(server: server, vm: name, .start), "Start-SCVirtualMachine '\(name)'", failure: .migrationFailed)
        }
    }

    public func moveVM(vm name: String, to host: String) async throws(BackendError) {
        let current = try await vm(name)
        if sameHost(current.host, host) { return }
        guard !current.power.consumesMemory else {
            throw BackendError(.invalidState, "VM '\(name)' is \(current.power.rawValue): only stopped or saved VMs are moved this way")
        }
        try await move(name, to: host)
    }

    public func saveState(vm name: String) async throws(BackendError) {
        let current = try await vm(name)
        guard current.power.consumesMemory else { return }  // saved or off: nothing left in memory
        try await runJob(VMMScripts.power(server: server, vm: name, .saveState), "Stop-SCVirtualMachine '\(name)' -SaveState", failure: .invalidState)
    }

    public func shutDown(vm name: String) async throws(BackendError) {
        let current = try await vm(name)
        switch current.power {
        case .stopped: return
        case .saved: throw BackendError(.invalidState, "VM '\(name)' is saved: start it before a guest shutdown")
        case .running, .paused:
            try await runJob(VMMScripts.power(server: server, vm: name, .shutdown), "Stop-SCVirtualMachine '\(name)' -Shutdown", failure: .invalidState)
        }
    }

    public func start(vm name: String) async throws(BackendError) {
        let current = try await vm(name)
        if current.power == .running { return }
        try await runJob(VMMScripts.power(server: server, vm: name, .start), "Start-SCVirtualMachine '\(name)'", failure: .invalidState)
    }

    private func move(_ name: String, to host: String) async throws(BackendError) {
        try await runJob(VMMScripts.moveVM(server: server, vm: name, to: host), "Move-SCVirtualMachine '\(name)' to '\(host)'",
                         failure: .migrationFailed)
    }

    // MARK: Jobs

    /// Starts the job, then polls Get-SCJob until it ends. A failed job
    /// becomes `failure` with VMM's own problem text and error code.
    func runJob(_ script: PowerShellScript, _ operation: String, failure: BackendError.Code) async throws(BackendError) {
        var job = try VMMDecoding.job(try await runner.run(script, operation: operation))
        let deadline = ChildProcess.monotonicSeconds() + polling.timeoutSeconds
        while job.phase == .running {
            guard ChildProcess.monotonicSeconds() < deadline else {
                throw BackendError(.timeout, "\(operation) on \(runner.target.host): VMM job \(job.id) still \(job.status) (\(job.progress)) after \(Int(polling.timeoutSeconds)) s; the job keeps running in VMM")
            }
            try await polling.pause(operation)
            job = try VMMDecoding.job(try await runner.run(VMMScripts.job(server: server, id: job.id), operation: "Get-SCJob \(job.id)"))
        }
        guard job.phase == .failed else { return }
        let text = [job.problem, job.recommendedAction].filter { !$0.isEmpty }.joined(separator: " ")
        let message = "\(operation): VMM job \(job.id) \(job.status)" + (text.isEmpty ? "" : ": \(text)")
        let code = job.errorCode.flatMap { ErrorRecordMapping.vmmErrorIds[$0] } ?? failure
        throw BackendError(code, message, backendCode: job.errorCode)
    }
}
