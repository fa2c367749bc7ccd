/// Precheck and drain: capacity, Rules 1 and 2, placement for Rule 3,
/// each VM through its fallback chain, re-observation, compensation.
extension SagaStep {
    // MARK: Precheck

    mutating func precheck(_ snapshot: ClusterSnapshot) {
        if state.cancelRequested {
            stopBeforeDrain("job cancelled before the drain")
            return
        }
        switch DrainPlanner.plan(host: host, snapshot: snapshot, policy: policy) {
        case .skip(let reason, let preexisting):
            state.preexistingMaintenance = preexisting
            finish(.skipped, reason)
        case .hold(let reason, _):
            finish(.held, reason)
        case .drain(let plan):
            if let busy = clusterAtItsLimit(snapshot) {
                returnToWaiting(busy)
                return
            }
            state.placement = plan.placement
            state.drainItems = plan.items
            state.notes += plan.notes
            state.keptOnHost += plan.notes.compactMap(\.vm)
            state.phase = .enteringMaintenance
            issue(.enterMaintenance(MaintenanceRequest(host: host)))
        }
    }

    /// The cluster's unavailability on fresh facts: the scheduler decided
    /// on an inventory that may be seconds old, and a host that went down
    /// or into someone's maintenance since must count against
    /// `maxUnavailablePerCluster` before this one is taken out. nil when
    /// there is room (or the host is standalone).
    func clusterAtItsLimit(_ snapshot: ClusterSnapshot) -> String? {
        guard let cluster = snapshot.hosts.first(where: { $0.name == host })?.cluster else { return nil }
        let out = snapshot.hosts.filter { $0.cluster == cluster && $0.name != host && !$0.canReceiveVMs }
        guard out.count >= policy.maxUnavailablePerCluster else { return nil }
        let names = out.map { "\($0.name) (\($0.healthy ? $0.status.rawValue : "unhealthy"))" }.sorted().joined(separator: ", ")
        return "cluster \(cluster) already has \(out.count) host(s) out of service at precheck: \(names) (maxUnavailablePerCluster: \(policy.maxUnavailablePerCluster)); not touched, waiting for a slot"
    }

    /// Back to the scheduler's waiting list, untouched: nothing was asked
    /// of the host yet. The scheduler starts it again when the cluster has
    /// room. A scheduler that keeps starting it into a full cluster (its
    /// view and the cluster's disagree for good) would make this a loop of
    /// observations: after `maxWaitingReturns` the host is skipped instead,
    /// still untouched, with the reason.
    mutating func returnToWaiting(_ reason: String) {
        let returns = (state.waitingReturns ?? 0) + 1
        state.waitingReturns = returns
        guard returns < SagaStep.maxWaitingReturns else {
            finish(.skipped, "not started: \(reason) (found so at \(returns) prechecks)")
            return
        }
        state.phase = .pending
        state.startedAt = nil
        timelineDetail = reason
    }

    static let maxWaitingReturns = 5

    // MARK: Drain

    mutating func nextDrainStep() {
        if state.cancelRequested {
            compensate("job cancelled during the drain")
            return
        }
        if let deadline = state.drainDeadline, now >= deadline, !state.drainItems.isEmpty {
            let left = state.drainItems.map(\.vm).joined(separator: ", ")
            compensate("drain timeout (\(Int(policy.drainTimeoutSeconds)) s) passed with VM(s) still to handle: \(left)")
            return
        }
        guard let item = state.drainItems.first else {
            // The plan is done; confirm on fresh facts that the host is empty
            // (another drain in the cluster may have sent VMs here meanwhile).
            issue(.observeCluster(HostRef(host: host)))
            return
        }
        // Never let one VM's attempt outlive the drain deadline.
        let remaining = state.drainDeadline.map { $0.seconds(since: now) } ?? policy.vmMigrationTimeoutSeconds
        let timeout = max(1, min(policy.vmMigrationTimeoutSeconds, remaining))
        func request(_ action: VMAction) -> CommandBody {
            .vmAction(VMActionRequest(host: host, vm: item.vm, action: action, timeoutSeconds: timeout,
                                      headroomPercent: policy.capacityHeadroomPercent))
        }
        if item.purpose == .moveStopped {
            issue(request(VMAction(.moveStopped, to: item.target)))
            return
        }
        switch item.currentMethod {
        case .liveMigrate?, .quickMigrate?:
            guard let target = item.target else {
                // No planned target (chain started with saveState): skip this step.
                state.drainItems[0].step += 1
                nextDrainStep()
                return
            }
            issue(request(VMAction(item.currentMethod == .liveMigrate ? .liveMigrate : .quickMigrate, to: target)))
        case .saveState?:
            issue(request(VMAction(.saveState)))
        case .shutDown?:
            issue(request(VMAction(.shutDown)))
        case .holdHost?, nil:
            let why = state.lastError.map { ": last error: \($0)" } ?? ""
            compensate("VM '\(item.vm)' could not be taken off the host and its fallback chain ends by holding the host\(why)")
        }
    }

    /// Maximum re-plans for VMs that arrived after the precheck before the
    /// saga concludes the host is not draining and compensates.
    static let maxDrainPasses = 3

    mutating func verifyDrain(_ snapshot: ClusterSnapshot) {
        if state.cancelRequested {
            compensate("job cancelled during the drain")
            return
        }
        // A VM saved, shut down or left stopped for the patch counts as
        // handled only while it holds no memory: one somebody started again
        // (or a paused one) is running on the host and must be drained.
        let handled = Set(state.turnedOff.map(\.vm) + state.keptOnHost)
        let leftover = snapshot.vms.filter { vm in
            vm.host == host && (vm.power.consumesMemory
                || (!handled.contains(vm.name) && vm.highlyAvailable && policy.stoppedHighlyAvailableVMs == .move))
        }
        if leftover.isEmpty {
            // Empty on fresh facts: now the real maintenance mode (the first
            // request only cordoned a host that still ran VMs).
            state.drainVerified = true
            issue(.enterMaintenance(MaintenanceRequest(host: host, drained: true)))
            return
        }
        state.drainVerified = false
        state.drainPasses += 1
        let names = leftover.map(\.name).sorted().joined(separator: ", ")
        guard state.drainPasses <= SagaStep.maxDrainPasses else {
            compensate("VM(s) keep arriving on the host during the drain: \(names)")
            return
        }
        // Plan the newcomers as if the host were still in service (it is ours, in maintenance).
        var planning = snapshot
        if let index = planning.hosts.firstIndex(where: { $0.name == host }) { planning.hosts[index].status = .up }
        planning.vms.removeAll { $0.host == host && handled.contains($0.name) && !$0.power.consumesMemory }
        switch DrainPlanner.plan(host: host, snapshot: planning, policy: policy) {
        case .drain(let plan):
            note("VM(s) arrived after the precheck and are drained too: \(names)")
            state.drainItems = plan.items
            state.notes += plan.notes
            state.keptOnHost += plan.notes.compactMap(\.vm)
            nextDrainStep()
        case .hold(let reason, _), .skip(let reason, _):
            compensate(reason)
        }
    }

    /// The drained host is in the manager's real maintenance mode: patch it,
    /// unless the job was cancelled meanwhile.
    mutating func drainedHostInMaintenance() {
        if state.cancelRequested {
            compensate("job cancelled during the drain")
            return
        }
        startDeploy()
    }

    mutating func vmActionSucceeded(_ result: VMActionSucceeded) {
        switch state.phase {
        case .draining:
            guard state.drainItems.first?.vm == result.vm else { return }
            state.drainItems.removeFirst()
            if let observed = result.observed {
                note("not on the host any more when the drain reached it (\(observed)); nothing moved", vm: result.vm)
                nextDrainStep()
                return
            }
            switch result.action.kind {
            case .liveMigrate, .quickMigrate, .moveStopped:
                let target = result.action.target ?? "?"
                state.moved.append(MovedVM(vm: result.vm, home: host, movedTo: target,
                                           wasRunning: result.action.kind != .moveStopped))
                if result.action.kind == .quickMigrate {
                    note("quick-migrated to \(target) (brief outage) after live migration failed", vm: result.vm)
                }
            case .saveState, .shutDown:
                let method: DrainMethod = result.action.kind == .saveState ? .saveState : .shutDown
                state.turnedOff.append(TurnedOffVM(vm: result.vm, method: method))
                note("\(method == .saveState ? "saved" : "shut down") on the host for the patch; started again afterwards", vm: result.vm)
            case .start:
                break
            }
            nextDrainStep()
        case .restartingVMs:
            guard state.restartQueue.first == result.vm else { return }
            state.restartQueue.removeFirst()
            nextRestart()
        default:
            return
        }
    }

    mutating func vmActionFailed(vm: String, action: VMAction, error: BackendError) {
        switch state.phase {
        case .draining:
            guard let item = state.drainItems.first, item.vm == vm else { return }
            state.lastError = error.description
            note("\(action.kind.rawValue) failed: \(error)", vm: vm)
            if item.purpose == .moveStopped {
                note("Rule 2: \(vm) could not be moved and stays on the host (it is not running)", vm: vm)
                state.keptOnHost.append(vm)
                state.drainItems.removeFirst()
            } else {
                state.drainItems[0].step += 1
            }
            nextDrainStep()
        case .restartingVMs:
            guard state.restartQueue.first == vm else { return }
            note("could not be started again after the patch: \(error); left off", vm: vm)
            state.restartQueue.removeFirst()
            nextRestart()
        default:
            return
        }
    }

    /// The drain cannot finish: get the host back into service and leave the
    /// VMs already moved where they are (they are running safely there).
    mutating func compensate(_ reason: String) {
        state.drainItems = []
        state.resumeMode = .compensation
        state.resumeReason = reason
        for moved in state.moved {
            note("left on \(moved.movedTo) after the drain was compensated (\(reason))", vm: moved.vm)
        }
        startResume()
    }
}
