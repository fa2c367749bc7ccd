import PatchFleetCore

/// Carries out a saga command against the model the way a real worker
/// would: observe first, then act, so a command whose goal already holds
/// succeeds without doing anything twice. Returns the answer and when it is due.
extension DatacenterModel {
    public mutating func perform(_ command: SagaCommand, at time: Instant) -> (at: Instant, answer: EventBody) {
        advance(to: time)
        let result = carryOut(command, at: time)
        let hostLevel: Set<CommandKind> = [.enterMaintenance, .exitMaintenance, .deployUpdates, .rebootHost]
        guard hostLevel.contains(command.body.kind), takeFault(.answerLost, where: { $0.host == command.host }) else {
            return result
        }
        let seconds = scaled(durations.timeoutSeconds)
        return (max(result.at, now.adding(seconds: seconds)), .commandFailed(CommandFailure(step: command.body.kind,
            error: BackendError(.timeout, "No answer from the backend within \(Int(seconds)) seconds", backendCode: "0x800705B4"))))
    }

    mutating func carryOut(_ command: SagaCommand, at time: Instant) -> (at: Instant, answer: EventBody) {
        switch command.body {
        case .observeCluster(let ref):
            return reply(observeCluster(of: ref.host, at: time), command) { .clusterObserved($0) }
        case .enterMaintenance(let request):
            return reply(enterMaintenance(request, at: time), command) { _ in .maintenanceEntered }
        case .exitMaintenance(let ref):
            return reply(exitMaintenance(host: ref.host, at: time), command) { _ in .maintenanceExited }
        case .checkHealth(let ref):
            return reply(health(of: ref.host, at: time), command) { .healthReported(HealthReport(healthy: $0.healthy, detail: $0.detail)) }
        case .rebootHost(let ref):
            // Observe, then act: a reboot already under way is the reboot asked for.
            if inventory.host(named: ref.host)?.status == .rebooting {
                return (now.adding(seconds: scaled(durations.callLatencySeconds)), .rebootIssued)
            }
            return reply(reboot(host: ref.host, at: time), command) { _ in .rebootIssued }
        case .waitForHost(let request):
            return reply(lookForHost(request.host, at: time), command) { request.answer($0) }
        case .pollCompliance(let request):
            return reply(compliance(host: request.host, updateIds: request.updateIds, at: time), command) { .complianceReported($0) }
        case .deployUpdates(let request):
            return deploy(request, command, at: time)
        case .vmAction(let request):
            return vmAction(request, at: time)
        case .failbackVM(let request):
            return failback(request, at: time)
        case .wakeAt(let wake):
            return (max(wake.at, time), .timerFired)
        }
    }

    func reply<T>(_ ticket: Ticket<T>, _ command: SagaCommand, _ success: (T) -> EventBody) -> (at: Instant, answer: EventBody) {
        switch ticket.result {
        case .success(let value): (ticket.at, success(value))
        case .failure(let error): (ticket.at, .commandFailed(CommandFailure(step: command.body.kind, error: error)))
        }
    }

    /// Ensure collection, add the host, refresh its policy, trigger the install:
    /// each step's time adds up, and the first failure is the answer.
    mutating func deploy(_ request: DeployRequest, _ command: SagaCommand, at time: Instant) -> (at: Instant, answer: EventBody) {
        var clock = time
        let steps: [(inout DatacenterModel, Instant) -> Ticket<Void>] = [
            { $0.ensureCollection(request.collection, at: $1) },
            { $0.addHost(request.host, toCollection: request.collection, at: $1) },
            { $0.refreshPolicy(host: request.host, at: $1) },
            { $0.triggerInstall(host: request.host, updateIds: request.updateIds, at: $1) },
        ]
        for step in steps {
            let ticket = step(&self, clock)
            clock = max(clock, ticket.at)
            if case .failure(let error) = ticket.result {
                return (clock, .commandFailed(CommandFailure(step: .deployUpdates, error: error)))
            }
        }
        return (clock, .updatesDeployed)
    }

    mutating func vmAction(_ request: VMActionRequest, at time: Instant) -> (at: Instant, answer: EventBody) {
        let action = request.action
        func failed(_ ticket: Ticket<Void>) -> (at: Instant, answer: EventBody) {
            switch ticket.result {
            case .success: (ticket.at, .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: action)))
            case .failure(let error): (ticket.at, .vmActionFailed(VMActionFailed(vm: request.vm, action: action, error: error)))
            }
        }
        let latency = now.adding(seconds: scaled(durations.callLatencySeconds))
        guard let vm = inventory.vm(named: request.vm) else {
            if action.kind == .start {
                return (latency, .vmActionFailed(VMActionFailed(vm: request.vm, action: action,
                    error: BackendError(.notFound, "Unable to find a virtual machine named '\(request.vm)'"))))
            }
            return (latency, .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: action, observed: "VM no longer exists")))
        }
        if action.kind != .start && vm.host != request.host {
            if let target = action.target, vm.host == target {
                return (latency, .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: action)))
            }
            // On a peer of the host's cluster: moved as far as Rule 3 goes (see CommandExecutor).
            if action.kind.movesTheVM, let cluster = inventory.host(named: request.host)?.cluster,
               inventory.host(named: vm.host)?.cluster == cluster {
                return (latency, .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: VMAction(action.kind, to: vm.host))))
            }
            return (latency, .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: action, observed: "VM is now on \(vm.host)")))
        }
        switch action.kind {
        case .liveMigrate, .quickMigrate, .moveStopped:
            // Observe, then act: the plan's target may have left service since the precheck.
            guard let target = chooseTarget(preferred: action.target, for: vm, headroomPercent: request.headroomPercent) else {
                return (latency, .vmActionFailed(VMActionFailed(vm: request.vm, action: action, error: BackendError(.insufficientCapacity,
                    "No host in the cluster of '\(vm.host)' is in service with room for '\(vm.name)' (\(vm.memoryMB) MB)"))))
            }
            let actual = VMAction(action.kind, to: target)
            let ticket = vm.power.consumesMemory
                ? migrate(vm: request.vm, to: target, quick: action.kind == .quickMigrate, timeoutSeconds: request.timeoutSeconds, at: time)
                : moveStopped(vm: request.vm, to: target, at: time)
            switch ticket.result {
            case .success: return (ticket.at, .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: actual)))
            case .failure(let error): return (ticket.at, .vmActionFailed(VMActionFailed(vm: request.vm, action: actual, error: error)))
            }
        case .saveState:
            return failed(vm.power == .stopped ? answer((), host: vm.host) : changePower(vm: request.vm, to: .saved, at: time))
        case .shutDown:
            return failed(vm.power == .saved ? answer((), host: vm.host) : changePower(vm: request.vm, to: .stopped, at: time))
        case .start:
            return failed(changePower(vm: request.vm, to: .running, at: time))
        }
    }

    /// Rule 3, observe then act: report a VM that is gone or was moved by
    /// someone else instead of moving it.
    mutating func failback(_ request: FailbackRequest, at time: Instant) -> (at: Instant, answer: EventBody) {
        let latency = now.adding(seconds: scaled(durations.callLatencySeconds))
        func outcome(_ result: FailbackOutcome.Result, _ detail: String, at: Instant? = nil) -> (at: Instant, answer: EventBody) {
            (at ?? latency, .failbackFinished(FailbackOutcome(vm: request.vm, result: result, detail: detail)))
        }
        guard let vm = inventory.vm(named: request.vm) else { return outcome(.deleted, "VM no longer exists") }
        if vm.host == request.home { return outcome(.alreadyHome, "already on \(request.home)") }
        guard vm.host == request.expectedHost else { return outcome(.movedByOthers, "now on \(vm.host)") }
        guard let home = inventory.host(named: request.home), home.canReceiveVMs else {
            return outcome(.failed, "home host \(request.home) is not in service")
        }
        if vm.power.consumesMemory && freeMB(on: request.home) < vm.memoryMB {
            return outcome(.noCapacity, "needs \(vm.memoryMB) MB, \(freeMB(on: request.home)) MB free")
        }
        let ticket = vm.power.consumesMemory
            ? migrate(vm: request.vm, to: request.home, quick: false, timeoutSeconds: request.timeoutSeconds, at: time)
            : moveStopped(vm: request.vm, to: request.home, at: time)
        switch ticket.result {
        case .success: return outcome(.movedHome, "moved back to \(request.home)", at: ticket.at)
        case .failure(let error):
            return outcome(error.code == .insufficientCapacity ? .noCapacity : .failed, error.description, at: ticket.at)
        }
    }
}

extension DatacenterModel {
    /// The planned target if it can still take the VM, else the in-service
    /// peer with the most free memory after keeping the headroom share.
    func chooseTarget(preferred: String?, for vm: VM, headroomPercent: Int) -> String? {
        guard let cluster = inventory.host(named: vm.host)?.cluster else { return nil }
        let needed = vm.power.consumesMemory ? vm.memoryMB : 0
        if let preferred, let host = inventory.host(named: preferred), host.cluster == cluster, host.canReceiveVMs,
           preferred != vm.host, freeMB(on: preferred) >= needed {
            return preferred
        }
        return inventory.hosts(inCluster: cluster)
            .filter { $0.name != vm.host && $0.canReceiveVMs && freeMB(on: $0.name) - $0.memoryMB * headroomPercent / 100 >= needed }
            .max { (freeMB(on: $0.name), $1.name) < (freeMB(on: $1.name), $0.name) }?.name
    }
}
