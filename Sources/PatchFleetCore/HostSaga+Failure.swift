/// Failures: retry with backoff within the host's budget, then hold or resume per policy.
extension SagaStep {
    // MARK: Failures, retries and giving up

    mutating func commandFailed(_ failure: CommandFailure) {
        let error = failure.error
        switch failure.step {
        case .observeCluster:
            let phase = state.phase == .draining ? SagaPhase.draining : .prechecking
            self.failure("observing the cluster failed: \(error)", retry: .observeCluster(HostRef(host: host)), phase: phase)
        case .enterMaintenance where state.phase == .draining && state.drainVerified:
            // The host read back not in maintenance, or VMs arrived after the
            // drain: look again (the drain re-plans newcomers) rather than
            // insist on maintenance for a host that is not empty.
            state.drainVerified = false
            self.failure("entering maintenance mode on the drained host failed: \(error)",
                         retry: .observeCluster(HostRef(host: host)), phase: .draining)
        case .enterMaintenance:
            // Retry the same call, not the precheck: if the lost answer hid a
            // success, a new precheck would find the host "already in
            // maintenance" and leave our own maintenance behind. The worker
            // treats "already in maintenance" as done, and the drain re-checks
            // the host's VMs on fresh facts before deploying.
            self.failure("entering maintenance failed: \(error)", retry: .enterMaintenance(MaintenanceRequest(host: host)), phase: .enteringMaintenance)
        case .vmAction:
            if state.phase == .draining, let item = state.drainItems.first {
                vmActionFailed(vm: item.vm, action: VMAction(.liveMigrate), error: error)
            } else if state.phase == .restartingVMs, let vm = state.restartQueue.first {
                vmActionFailed(vm: vm, action: VMAction(.start), error: error)
            }
        case .deployUpdates:
            self.failure("deploy failed: \(error)",
                         retry: .deployUpdates(DeployRequest(host: host, collection: state.deploymentCollection, updateIds: state.updateIds)),
                         phase: .deploying)
        case .pollCompliance:
            self.failure("compliance scan failed: \(error)",
                         retry: .pollCompliance(ComplianceRequest(host: host, updateIds: state.updateIds)), phase: .polling)
        case .rebootHost:
            self.failure("reboot failed: \(error)", retry: .rebootHost(HostRef(host: host)), phase: .rebooting)
        case .waitForHost:
            self.failure("host did not come back after reboot: \(error)",
                         retry: .waitForHost(WaitForHostRequest(host: host, timeoutSeconds: policy.rebootTimeoutSeconds)),
                         phase: .waitingForHost)
        case .exitMaintenance:
            self.failure("could not exit maintenance: \(error)", retry: .exitMaintenance(HostRef(host: host)), phase: .exitingMaintenance)
        case .checkHealth:
            self.failure("health check failed: \(error)", retry: .checkHealth(HostRef(host: host)), phase: .checkingHealth)
        case .failbackVM:
            if let moved = state.failbackQueue.first {
                failbackFinished(FailbackOutcome(vm: moved.vm, result: .failed, detail: error.description))
            }
        case .wakeAt:
            timerFired()
        }
    }

    /// Retry with exponential backoff while the host's budget lasts, then give up.
    mutating func failure(_ reason: String, retry command: CommandBody, phase: SagaPhase) {
        state.lastError = reason
        guard state.retries < policy.maxRetriesPerHost else {
            giveUp(reason)
            return
        }
        state.retries += 1
        let delay = policy.retryBackoffSeconds * Double(1 << min(state.retries - 1, 16))
        note("attempt failed (\(reason)); retry \(state.retries) of \(policy.maxRetriesPerHost) in \(Int(delay)) s")
        state.retryCommand = command
        state.retryPhase = phase
        state.phase = .retryWait
        issue(.wakeAt(WakeRequest(at: now.adding(seconds: delay), purpose: "retry")))
    }

    mutating func giveUp(_ reason: String) {
        if state.phase == .enteringMaintenance {
            // The request may have landed even though no answer did: the host
            // was up at the precheck moments ago, so a maintenance now is ours
            // to take back. Exiting is a no-op if it never happened.
            state.enteredMaintenance = true
            state.resumeMode = .compensation
            state.resumeReason = reason
            startResume()
            return
        }
        if !state.enteredMaintenance {
            finish(.failed, reason, countsAsFailure: true)
            return
        }
        let returning = state.resumeMode != .normal
            || [.exitingMaintenance, .checkingHealth].contains(state.retryPhase ?? state.phase)
        if !returning && (state.retryPhase ?? state.phase) == .draining && policy.onFailure == .hold {
            // A drain that cannot finish is compensated rather than held:
            // the host goes back into service and the VMs saved or shut down
            // for it run again (held, they would stay off until a person
            // noticed; nothing was installed yet). `resume` resumes as ever,
            // VMs brought home.
            compensate(reason)
            return
        }
        if returning && state.resumeMode != .compensation {
            // Rule 3: every VM not back home is said where it was left
            // (compensation has said so already).
            let home = Set((state.returnedHome ?? []).map(\.vm))
            for moved in state.moved where !home.contains(moved.vm) {
                note("left on \(moved.movedTo), not moved back: \(reason)", vm: moved.vm)
            }
        }
        if returning || policy.onFailure == .hold {
            if state.inMaintenance {
                for vm in state.turnedOff {
                    note("left \(vm.method == .saveState ? "saved" : "shut down") on the held host", vm: vm.vm)
                }
                finish(.held, "held in maintenance: \(reason)", inMaintenance: true, countsAsFailure: true)
            } else {
                for vm in state.turnedOff {
                    note("not started again: \(reason)", vm: vm.vm)
                }
                finish(.held, reason, countsAsFailure: true)
            }
            return
        }
        state.resumeMode = .afterFailure
        state.resumeReason = reason
        startResume()
    }
}
