import PatchFleetCore

/// VM operations: migrations (memory reserved on the target while in flight), moves, power.
extension DatacenterModel {
    // MARK: VMs

    public mutating func migrate(vm name: String, to target: String, quick: Bool, timeoutSeconds: Double?, at time: Instant) -> Ticket<Void> {
        advance(to: time)
        let method = quick ? "quick" : "live"
        guard let vm = inventory.vm(named: name) else {
            return refuse(BackendError(.notFound, "Unable to find a virtual machine named '\(name)'"), host: nil)
        }
        if takeTimeout(host: vm.host) { return timedOut("Move-SCVirtualMachine '\(name)'", host: vm.host) }
        guard let targetHost = inventory.host(named: target) else { return missingHost(target) }
        record(.patchfleet, .migrationRequested(vm: name, from: vm.host, to: target, method: method))
        if let refusal = refuseAsTarget(targetHost, for: vm) { return refuse(refusal, host: target) }
        if vm.host == target { return answer((), host: target) }
        if inTransit.contains(name) { return busy(name) }
        guard vm.power.consumesMemory else { return moveStopped(vm: name, to: target, at: time) }
        guard freeMB(on: target) >= vm.memoryMB else {
            return refuse(BackendError(.insufficientCapacity, "Host '\(target)' does not have enough memory for '\(name)' (needs \(vm.memoryMB) MB, \(freeMB(on: target)) MB free)"), host: target)
        }
        let rate = quick ? durations.quickMigrationMBPerSecond : durations.liveMigrationMBPerSecond
        var migrationDraw = draw("migrate:\(name)")
        let duration = migrationSeconds(vm.memoryMB, rate: rate) * migrationDraw.double(0.8...1.2)
        if takeFault(.migrationFails, where: { $0.vm == name }) {
            let message = quick
                ? "Quick migration of '\(name)' failed: the saved state could not be restored on '\(target)'"
                : "Live migration of '\(name)' failed: Virtual machine migration operation failed at migration source"
            record(.patchfleet, .migrationFailed(vm: name, to: target, message: message))
            return refuse(BackendError(.migrationFailed, message, backendCode: "0x8007274C"), after: duration / 2, host: target)
        }
        if let timeoutSeconds, duration > timeoutSeconds {
            record(.patchfleet, .migrationFailed(vm: name, to: target, message: "timed out"))
            return Ticket(at: now.adding(seconds: timeoutSeconds), result: .failure(BackendError(.timeout,
                "Migration of '\(name)' did not complete within \(Int(timeoutSeconds)) seconds and was cancelled")))
        }
        reservedMB[target, default: 0] += vm.memoryMB
        inTransit.insert(name)
        if quick { setPower(name, .saved, by: .patchfleet) }
        schedule(at: now.adding(seconds: duration), .finishMigration(vm: name, from: vm.host, to: target, method: method, reservedMB: vm.memoryMB))
        return answer((), after: duration, host: target)
    }

    /// Moves a stopped or saved VM (no memory to copy, nothing to reserve).
    public mutating func moveStopped(vm name: String, to target: String, at time: Instant) -> Ticket<Void> {
        advance(to: time)
        guard let vm = inventory.vm(named: name) else {
            return refuse(BackendError(.notFound, "Unable to find a virtual machine named '\(name)'"), host: nil)
        }
        guard let targetHost = inventory.host(named: target) else { return missingHost(target) }
        if vm.host == target { return answer((), host: target) }
        record(.patchfleet, .migrationRequested(vm: name, from: vm.host, to: target, method: "move"))
        if let refusal = refuseAsTarget(targetHost, for: vm) { return refuse(refusal, host: target) }
        guard !vm.power.consumesMemory else {
            return refuse(BackendError(.invalidState, "Virtual machine '\(name)' is running; use live migration"), host: target)
        }
        if inTransit.contains(name) { return busy(name) }
        inTransit.insert(name)
        let duration = scaled(durations.coldMoveSeconds)
        schedule(at: now.adding(seconds: duration), .finishMigration(vm: name, from: vm.host, to: target, method: "move", reservedMB: 0))
        return answer((), after: duration, host: target)
    }

    public mutating func changePower(vm name: String, to power: PowerState, at time: Instant) -> Ticket<Void> {
        advance(to: time)
        guard let vm = inventory.vm(named: name) else {
            return refuse(BackendError(.notFound, "Unable to find a virtual machine named '\(name)'"), host: nil)
        }
        if takeTimeout(host: vm.host) { return timedOut("Set-VM '\(name)' \(power.rawValue)", host: vm.host) }
        if vm.power == power { return answer((), host: vm.host) }
        switch power {
        case .saved, .stopped:
            guard vm.power.consumesMemory else {
                return refuse(BackendError(.invalidState, "Virtual machine '\(name)' is \(vm.power.rawValue); cannot \(power == .saved ? "save" : "shut down") it"), host: vm.host)
            }
            let seconds = scaled(power == .saved ? durations.saveStateSeconds : durations.shutDownSeconds)
            schedule(at: now.adding(seconds: seconds), .finishPower(vm: name, to: power, reservedMB: 0))
            return answer((), after: seconds, host: vm.host)
        case .running, .paused:
            guard let host = inventory.host(named: vm.host), host.canReceiveVMs else {
                return refuse(BackendError(.invalidState, "Host '\(vm.host)' is not in service; cannot start '\(name)'"), host: vm.host)
            }
            guard freeMB(on: vm.host) >= vm.memoryMB else {
                return refuse(BackendError(.insufficientCapacity, "Host '\(vm.host)' does not have enough memory to start '\(name)'"), host: vm.host)
            }
            reservedMB[vm.host, default: 0] += vm.memoryMB
            let seconds = scaled(durations.startSeconds)
            schedule(at: now.adding(seconds: seconds), .finishPower(vm: name, to: .running, reservedMB: vm.memoryMB))
            return answer((), after: seconds, host: vm.host)
        }
    }

    func busy(_ vm: String) -> Ticket<Void> {
        refuse(BackendError(.conflict, "Virtual machine '\(vm)' is in use by another job (a migration is in progress)", backendCode: "0x80070020"), host: nil)
    }
}
