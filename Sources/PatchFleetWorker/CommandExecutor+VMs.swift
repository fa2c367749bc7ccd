import PatchFleetCore

extension CommandExecutor {
    /// Migrates, moves, saves, shuts down or starts one VM; observes first.
    /// If the VM is locked by an operation in flight (a redelivered task
    /// whose first run died mid-migration), waits for it and looks again.
    func vmAction(_ request: VMActionRequest) async -> EventBody {
        await untilNoConflict(timeoutSeconds: request.timeoutSeconds) { await vmActionOnce(request) } conflict: {
            if case .vmActionFailed(let failed) = $0, failed.error.code == .conflict { return true }
            return false
        }
    }

    /// Rule 3 failback, with the same wait on a VM locked by an operation in flight.
    func failback(_ request: FailbackRequest) async -> EventBody {
        await untilNoConflict(timeoutSeconds: request.timeoutSeconds) { await failbackOnce(request) } conflict: {
            if case .failbackFinished(let outcome) = $0, outcome.result == .failed, outcome.detail.hasPrefix("conflict") {
                return true
            }
            return false
        }
    }

    /// Repeats `attempt` while its answer is a conflict, until the timeout
    /// (backend time); the last answer stands.
    private func untilNoConflict(timeoutSeconds: Double, _ attempt: () async -> EventBody,
                                 conflict: (EventBody) -> Bool) async -> EventBody {
        let deadline = timing.now() + timeoutSeconds
        while true {
            let answer = await attempt()
            guard conflict(answer), timing.now() < deadline, !Task.isCancelled else { return answer }
            await timing.sleep(min(timing.pollSeconds, max(0, deadline - timing.now())))
        }
    }

    private func vmActionOnce(_ request: VMActionRequest) async -> EventBody {
        let action = request.action
        func failed(_ error: BackendError) -> EventBody {
            .vmActionFailed(VMActionFailed(vm: request.vm, action: action, error: error))
        }
        do throws(BackendError) {
            let snapshot = try await observeCluster(of: request.host)
            guard let vm = try await findVM(request.vm, near: snapshot) else {
                if action.kind == .start {
                    return failed(BackendError(.notFound, "Unable to find a virtual machine named '\(request.vm)'"))
                }
                return .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: action, observed: "VM no longer exists"))
            }
            if action.kind != .start && vm.host != request.host {
                if let target = action.target, vm.host == target {
                    return .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: action))  // a redelivery: done already
                }
                if action.kind.movesTheVM, snapshot.hosts.contains(where: { $0.name == vm.host }) {
                    // Off the host, on a peer of its cluster: a redelivery whose
                    // first run chose another target (the planned one had left
                    // service), or a move by someone else. Either way the drain
                    // moved it as far as Rule 3 goes: it is brought home after.
                    return .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: VMAction(action.kind, to: vm.host)))
                }
                return .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: action, observed: "VM is now on \(vm.host)"))
            }
            switch action.kind {
            case .liveMigrate, .quickMigrate, .moveStopped:
                // The plan's target may have left service since the precheck.
                guard let target = Self.chooseTarget(preferred: action.target, for: vm, in: snapshot.inventory,
                                                     headroomPercent: request.headroomPercent) else {
                    return failed(BackendError(.insufficientCapacity,
                        "No host in the cluster of '\(vm.host)' is in service with room for '\(vm.name)' (\(vm.memoryMB) MB)"))
                }
                switch action.kind {
                case .liveMigrate where vm.power.consumesMemory: try await virtualization.liveMigrate(vm: vm.name, to: target)
                case .quickMigrate where vm.power.consumesMemory: try await virtualization.quickMigrate(vm: vm.name, to: target)
                default: try await virtualization.moveVM(vm: vm.name, to: target)
                }
                return .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: VMAction(action.kind, to: target)))
            case .saveState:
                // A paused VM holds its memory too: saved like a running one.
                if vm.power.consumesMemory { try await virtualization.saveState(vm: vm.name) }
            case .shutDown:
                if vm.power.consumesMemory || vm.power == .saved { try await virtualization.shutDown(vm: vm.name) }
            case .start:
                if vm.power != .running { try await virtualization.start(vm: vm.name) }
            }
            return .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: action))
        } catch {
            return failed(error)
        }
    }

    /// Rule 3: moves a VM back to its recorded home, unless it was deleted,
    /// moved by someone else, or home has no room; each case says so.
    private func failbackOnce(_ request: FailbackRequest) async -> EventBody {
        func outcome(_ result: FailbackOutcome.Result, _ detail: String) -> EventBody {
            .failbackFinished(FailbackOutcome(vm: request.vm, result: result, detail: detail))
        }
        do throws(BackendError) {
            let snapshot = try await observeCluster(of: request.home)
            guard let vm = try await findVM(request.vm, near: snapshot) else { return outcome(.deleted, "VM no longer exists") }
            if vm.host == request.home { return outcome(.alreadyHome, "already on \(request.home)") }
            guard vm.host == request.expectedHost else { return outcome(.movedByOthers, "now on \(vm.host)") }
            let inventory = snapshot.inventory
            guard let home = inventory.host(named: request.home), home.canReceiveVMs else {
                return outcome(.failed, "home host \(request.home) is not in service")
            }
            let free = inventory.freeMemoryMB(on: request.home)
            if vm.power.consumesMemory && free < vm.memoryMB {
                return outcome(.noCapacity, "needs \(vm.memoryMB) MB, \(free) MB free")
            }
            do throws(BackendError) {
                if vm.power.consumesMemory {
                    try await virtualization.liveMigrate(vm: vm.name, to: request.home)
                } else {
                    try await virtualization.moveVM(vm: vm.name, to: request.home)
                }
            } catch {
                return outcome(error.code == .insufficientCapacity ? .noCapacity : .failed, error.description)
            }
            return outcome(.movedHome, "moved back to \(request.home)")
        } catch {
            return outcome(.failed, error.description)
        }
    }

    /// The VM, looked up in the cluster first and then everywhere (it may have
    /// been moved out of the cluster by someone else).
    private func findVM(_ name: String, near snapshot: ClusterSnapshot) async throws(BackendError) -> VM? {
        if let vm = snapshot.vms.first(where: { $0.name == name }) { return vm }
        return try await virtualization.findVM(named: name)
    }

    /// The planned target if it can still take the VM, else the in-service
    /// peer with the most free memory after keeping the headroom share.
    static func chooseTarget(preferred: String?, for vm: VM, in inventory: Inventory, headroomPercent: Int) -> String? {
        guard let cluster = inventory.host(named: vm.host)?.cluster else { return nil }
        let needed = vm.power.consumesMemory ? vm.memoryMB : 0
        if let preferred, let host = inventory.host(named: preferred), host.cluster == cluster, host.canReceiveVMs,
           preferred != vm.host, inventory.freeMemoryMB(on: preferred) >= needed {
            return preferred
        }
        return inventory.hosts(inCluster: cluster)
            .filter { $0.name != vm.host && $0.canReceiveVMs
                && inventory.freeMemoryMB(on: $0.name) - $0.memoryMB * headroomPercent / 100 >= needed }
            .max { (inventory.freeMemoryMB(on: $0.name), $1.name) < (inventory.freeMemoryMB(on: $1.name), $0.name) }?.name
    }
}
