import PatchFleetCore

/// Changes that land later: migrations, power changes, installs and reboots
/// completing, and other people's hands in the datacenter.
extension DatacenterModel {
    // MARK: Scheduled changes

    mutating func apply(_ change: PendingChange) {
        switch change {
        case .finishMigration(let vm, let from, let to, let method, let reserved):
            reservedMB[to, default: 0] -= reserved
            inTransit.remove(vm)
            // Someone deleted or moved it meanwhile: the migration has nothing to finish.
            guard let current = inventory.vm(named: vm), current.host == from else { return }
            moveNow(vm, to: to, method: method, by: .patchfleet)
            if method == "quick" { setPower(vm, .running, by: .patchfleet) }
        case .finishPower(let vm, let power, let reserved):
            if let host = inventory.vm(named: vm)?.host { reservedMB[host, default: 0] -= reserved }
            setPower(vm, power, by: .patchfleet)
        case .finishInstall(let host, let updateIds, let failure):
            installing.remove(host)
            if let failure {
                failedInstalls[host] = [failure]
                record(.datacenter, .installFinished(host: host, installed: [], failed: [failure.updateId]))
            } else {
                installed[host, default: []].formUnion(updateIds)
                record(.datacenter, .installFinished(host: host, installed: updateIds, failed: []))
                var rebootDraw = draw("pendingReboot:\(host)")
                if rebootDraw.chance(durations.pendingRebootProbability) && !pendingReboot.contains(host) {
                    pendingReboot.insert(host)
                    record(.datacenter, .pendingReboot(host: host, pending: true))
                }
            }
        case .finishReboot(let host, let returnTo):
            rebootEnds[host] = nil
            if neverReturns.contains(host) {
                setStatus(host, .down, by: .datacenter)
                return
            }
            setStatus(host, returnTo, by: .datacenter)
            if pendingReboot.contains(host) && !hasFault(.stuckPendingReboot, host: host) {
                pendingReboot.remove(host)
                record(.datacenter, .pendingReboot(host: host, pending: false))
            }
        case .external(let fault):
            applyExternal(fault)
        }
    }

    /// Someone else's hand in the datacenter mid-run.
    mutating func applyExternal(_ fault: Fault) {
        // A VM in the middle of a migration is locked for everyone.
        guard let name = fault.vm, let vm = inventory.vm(named: name), !inTransit.contains(name) else { return }
        switch fault.kind {
        case .vmDeleted:
            inventory.vms.removeAll { $0.name == name }
            record(.external, .vmDeleted(vm: name, host: vm.host))
        case .vmMovedByOthers:
            let target = fault.to.flatMap { inventory.host(named: $0) }.map(\.name) ?? bestTarget(for: vm, excluding: vm.host)
            guard let target, let targetHost = inventory.host(named: target), target != vm.host,
                  refuseAsTarget(targetHost, for: vm) == nil,
                  !vm.power.consumesMemory || freeMB(on: target) >= vm.memoryMB else { return }
            moveNow(name, to: target, method: "external", by: .external)
        default:
            return
        }
    }
}
