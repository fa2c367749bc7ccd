import PatchFleetCore

/// The operations a backend call performs, with the datacenter's own rules:
/// it refuses what a real VMM / Failover Cluster / ConfigMgr would refuse,
/// with messages in their style.
extension DatacenterModel {
    // MARK: Hosts

    public mutating func observeCluster(of host: String, at time: Instant) -> Ticket<ClusterSnapshot> {
        advance(to: time)
        if takeTimeout(host: host) { return timedOut("Get-SCVMHost '\(host)'", host: host) }
        guard inventory.host(named: host) != nil else { return missingHost(host) }
        return answer(inventory.clusterSnapshot(of: host), host: host)
    }

    public mutating func enterMaintenance(host: String, migrateRunningVMs: Bool, at time: Instant) -> Ticket<Void> {
        advance(to: time)
        if takeTimeout(host: host) { return timedOut("Disable-SCVMHost '\(host)'", host: host) }
        guard let info = inventory.host(named: host) else { return missingHost(host) }
        if info.status == .maintenance { return answer((), host: host) }
        // A paused (cordoned) host may still enter maintenance: that is how
        // the second, post-drain request finds a host PatchFleet cordoned.
        guard info.status == .up || info.status == .paused else {
            return refuse(BackendError(.invalidState, "Host '\(host)' is \(info.status.rawValue); cannot start maintenance mode"), host: host)
        }
        guard migrateRunningVMs else {
            // As the real managers are driven: with VMs still running, only
            // cordon (no new placements, VMs keep running); maintenance mode
            // proper once the host is empty.
            let running = inventory.vms(on: host).contains { $0.power.consumesMemory }
            let next: HostStatus = running ? .paused : .maintenance
            if info.status != next { setStatus(host, next, by: .patchfleet) }
            return answer((), after: scaled(durations.maintenanceSeconds), host: host)
        }
        // The backend's own drain: live-migrate HA VMs, save the rest.
        setStatus(host, .draining, by: .patchfleet)
        var elapsed = 0.0
        for vm in inventory.vms(on: host).filter(\.power.consumesMemory).sorted(by: { $0.name < $1.name }) {
            if vm.highlyAvailable, let target = bestTarget(for: vm, excluding: host) {
                record(.patchfleet, .migrationRequested(vm: vm.name, from: host, to: target, method: "live"))
                moveNow(vm.name, to: target, method: "live", by: .patchfleet)
                elapsed += migrationSeconds(vm.memoryMB, rate: durations.liveMigrationMBPerSecond)
            } else {
                setPower(vm.name, .saved, by: .patchfleet)
                elapsed += scaled(durations.saveStateSeconds)
            }
        }
        setStatus(host, .maintenance, by: .patchfleet)
        return answer((), after: elapsed, host: host)
    }

    /// The worker's `enterMaintenance` step (the model-level twin of
    /// `CommandExecutor.enterMaintenance`): for a drained host, empty before
    /// and in maintenance after, or an error.
    public mutating func enterMaintenance(_ request: MaintenanceRequest, at time: Instant) -> Ticket<Void> {
        advance(to: time)
        let host = request.host
        if inventory.host(named: host)?.status == .maintenance { return answer((), host: host) }
        if request.drained {
            let running = inventory.vms(on: host).filter(\.power.consumesMemory).map(\.name)
            if !running.isEmpty {
                return refuse(BackendError(.invalidState, "host '\(host)' is not empty any more: \(running.sorted().joined(separator: ", ")) running on it"), host: host)
            }
        }
        let ticket = enterMaintenance(host: host, migrateRunningVMs: false, at: time)
        guard request.drained, case .success = ticket.result, let status = inventory.host(named: host)?.status,
              status != .maintenance else { return ticket }
        return Ticket(at: ticket.at, result: .failure(BackendError(.invalidState,
            "host '\(host)' reads \(status.rawValue), not maintenance, after entering maintenance mode")))
    }

    public mutating func exitMaintenance(host: String, at time: Instant) -> Ticket<Void> {
        advance(to: time)
        if takeTimeout(host: host) { return timedOut("Enable-SCVMHost '\(host)'", host: host) }
        guard let info = inventory.host(named: host) else { return missingHost(host) }
        guard isReachable(info) else { return unreachable(host) }
        if info.status != .up { setStatus(host, .up, by: .patchfleet) }
        return answer((), after: scaled(durations.maintenanceSeconds), host: host)
    }

    public mutating func health(of host: String, at time: Instant) -> Ticket<HostHealth> {
        advance(to: time)
        if takeTimeout(host: host) { return timedOut("Get-ClusterNode '\(host)'", host: host) }
        guard let info = inventory.host(named: host) else { return missingHost(host) }
        let responding = isReachable(info)
        let healthy = responding && info.healthy && info.status == .up
        let detail = !responding ? "host is \(info.status.rawValue)" : (healthy ? "Up" : "host is \(info.status.rawValue), healthy=\(info.healthy)")
        return answer(HostHealth(responding: responding, healthy: healthy, detail: detail), host: host)
    }

    public mutating func reboot(host: String, at time: Instant) -> Ticket<Void> {
        advance(to: time)
        if takeTimeout(host: host) { return timedOut("Restart-Computer '\(host)'", host: host) }
        guard let info = inventory.host(named: host) else { return missingHost(host) }
        guard isReachable(info) else { return unreachable(host) }
        let running = inventory.vms(on: host).filter(\.power.consumesMemory).map(\.name).sorted()
        // Recorded even when refused: asking is already the bug.
        record(.patchfleet, .rebootRequested(host: host, runningVMs: running))
        guard running.isEmpty else {
            return refuse(BackendError(.invalidState, "Host '\(host)' still runs \(running.count) virtual machine(s) (\(running.joined(separator: ", "))); refusing to restart"), host: host)
        }
        let returnTo = info.status
        setStatus(host, .rebooting, by: .patchfleet)
        var rebootDraw = draw("reboot:\(host)")
        let duration = scaled(rebootDraw.double(durations.rebootMinSeconds...durations.rebootMaxSeconds))
        let ends = now.adding(seconds: duration)
        if takeFault(.hostDoesNotReturn, where: { $0.host == host }) {
            neverReturns.insert(host)
        }
        rebootEnds[host] = ends
        schedule(at: ends, .finishReboot(host: host, returnTo: returnTo))
        return answer((), host: host)
    }

    /// One look at a host coming back from a restart, as the worker's
    /// `waitForHost` takes it (`CommandExecutor.waitForHost`): nil when it is
    /// back and responding with no restart pending, else what it is doing.
    /// The status is a read (no latency, as `host(named:)`); the health check
    /// and the pending-restart check are backend calls.
    public mutating func lookForHost(_ host: String, at time: Instant) -> Ticket<HostNotBack?> {
        advance(to: time)
        guard let info = inventory.host(named: host) else {
            return Ticket(at: now, result: .failure(BackendError(.notFound, "Unable to find a host named '\(host)'")))
        }
        if info.status == .rebooting || info.status == .down {
            return Ticket(at: now, result: .success(.down(host, info.status)))
        }
        let health = health(of: host, at: time)
        guard case .success(let answer) = health.result, answer.responding else {
            return Ticket(at: health.at, result: health.result.map { _ in .notResponding(host, info.status) })
        }
        let pending = isPendingReboot(host: host, at: health.at)
        switch pending.result {
        case .success(let stillPending):
            return Ticket(at: pending.at, result: .success(stillPending ? .restartPending(host) : nil))
        case .failure(let error) where HostNotBack.isUpdateClientSilence(error):
            return Ticket(at: pending.at, result: .success(.updateClientSilent(host, info.status, error)))
        case .failure(let error):
            return Ticket(at: pending.at, result: .failure(error))
        }
    }

    // MARK: Helpers

    func migrationSeconds(_ memoryMB: Int, rate: Double) -> Double {
        scaled(durations.migrationOverheadSeconds + Double(memoryMB) / rate)
    }

    /// The datacenter refuses to place a VM on a host out of service or in another cluster.
    func refuseAsTarget(_ target: Host, for vm: VM) -> BackendError? {
        guard target.canReceiveVMs else {
            return BackendError(.invalidState, "Host '\(target.name)' is \(target.status.rawValue)\(target.healthy ? "" : " and unhealthy"); it cannot receive virtual machines")
        }
        let source = inventory.host(named: vm.host)
        guard let cluster = target.cluster, source?.cluster == cluster else {
            return BackendError(.invalidState, "Hosts '\(vm.host)' and '\(target.name)' are not in the same cluster")
        }
        return nil
    }

    func bestTarget(for vm: VM, excluding host: String) -> String? {
        guard let cluster = inventory.host(named: vm.host)?.cluster else { return nil }
        return inventory.hosts(inCluster: cluster)
            .filter { $0.name != host && $0.canReceiveVMs && freeMB(on: $0.name) >= vm.memoryMB }
            .max { (freeMB(on: $0.name), $1.name) < (freeMB(on: $1.name), $0.name) }?.name
    }

    mutating func moveNow(_ vm: String, to target: String, method: String, by actor: HistoryActor) {
        guard let index = inventory.vms.firstIndex(where: { $0.name == vm }) else { return }
        let from = inventory.vms[index].host
        inventory.vms[index].host = target
        record(actor, .vmMoved(vm: vm, from: from, to: target, method: method))
    }
}
