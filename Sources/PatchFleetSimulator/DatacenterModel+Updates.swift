import PatchFleetCore

/// Patch-manager operations: collections, policy refresh, installs, compliance.
extension DatacenterModel {
    // MARK: Updates

    public mutating func ensureCollection(_ name: String, at time: Instant) -> Ticket<Void> {
        advance(to: time)
        if collections[name] == nil { collections[name] = [] }
        return answer((), host: nil)
    }

    public mutating func collectionMembers(_ name: String, at time: Instant) -> Ticket<[String]> {
        advance(to: time)
        guard let members = collections[name] else {
            return refuse(BackendError(.notFound, "Collection '\(name)' does not exist"), host: nil)
        }
        return answer(members, host: nil)
    }

    public mutating func addHost(_ host: String, toCollection name: String, at time: Instant) -> Ticket<Void> {
        advance(to: time)
        guard inventory.host(named: host) != nil else { return missingHost(host) }
        guard collections[name] != nil else {
            return refuse(BackendError(.notFound, "Collection '\(name)' does not exist"), host: nil)
        }
        if !collections[name]!.contains(host) {
            collections[name]!.append(host)
            record(.patchfleet, .addedToCollection(host: host, collection: name))
        }
        return answer((), host: nil)
    }

    public mutating func refreshPolicy(host: String, at time: Instant) -> Ticket<Void> {
        advance(to: time)
        if takeTimeout(host: host) { return timedOut("Invoke-CMClientNotification '\(host)'", host: host) }
        guard let info = inventory.host(named: host) else { return missingHost(host) }
        guard isReachable(info) else { return unreachable(host) }
        return answer((), host: host)
    }

    public mutating func triggerInstall(host: String, updateIds: [String], at time: Instant) -> Ticket<Void> {
        advance(to: time)
        guard let info = inventory.host(named: host) else { return missingHost(host) }
        guard isReachable(info) else { return unreachable(host) }
        if installing.contains(host) { return answer((), host: host) }
        installing.insert(host)
        failedInstalls[host] = nil
        record(.patchfleet, .installStarted(host: host, updateIds: updateIds))
        var failure: UpdateFailure?
        if let index = faults.firstIndex(where: { $0.fault.kind == .installFails && $0.fault.host == host && $0.remaining > 0 }) {
            faults[index].remaining -= 1
            let fault = faults[index].fault
            failure = UpdateFailure(updateId: updateIds.first ?? "?", code: fault.code ?? "0x80070643",
                                    message: fault.message ?? "Fatal error during installation")
        }
        let missing = updateIds.filter { !installed[host, default: []].contains($0) }
        var installDraw = draw("install:\(host)")
        let seconds = missing.isEmpty ? scaled(60) : scaled(installDraw.double(durations.installMinSeconds...durations.installMaxSeconds))
        schedule(at: now.adding(seconds: seconds), .finishInstall(host: host, updateIds: updateIds, failure: failure))
        return answer((), host: host)
    }

    public mutating func compliance(host: String, updateIds: [String], at time: Instant) -> Ticket<ComplianceReport> {
        advance(to: time)
        if takeTimeout(host: host) { return timedOut("Get-CMSoftwareUpdateComplianceStatus '\(host)'", host: host) }
        guard let info = inventory.host(named: host) else { return missingHost(host) }
        guard isReachable(info) else { return unreachable(host) }
        let done = installed[host, default: []]
        let failed = (failedInstalls[host] ?? []).filter { updateIds.contains($0.updateId) }
        let failedIds = Set(failed.map(\.updateId))
        return answer(ComplianceReport(installed: updateIds.filter(done.contains),
                                       pending: updateIds.filter { !done.contains($0) && !failedIds.contains($0) },
                                       failed: failed, pendingReboot: pendingReboot.contains(host)), host: host)
    }

    public mutating func isPendingReboot(host: String, at time: Instant) -> Ticket<Bool> {
        advance(to: time)
        guard let info = inventory.host(named: host) else { return missingHost(host) }
        guard isReachable(info) else { return unreachable(host) }
        return answer(pendingReboot.contains(host), host: host)
    }
}
