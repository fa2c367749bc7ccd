/// Deploy, poll the deployed updates, reboot, wait for the host, rescan.
extension SagaStep {
    // MARK: Deploy and poll

    mutating func startDeploy() {
        state.phase = .deploying
        issue(.deployUpdates(DeployRequest(host: host, collection: state.deploymentCollection, updateIds: state.updateIds)))
    }

    mutating func complianceReported(_ report: ComplianceReport) {
        if !report.failed.isEmpty {
            let detail = report.failed.map { "\($0.updateId) failed with \($0.code): \($0.message)" }.joined(separator: "; ")
            failure("install failed: \(detail)",
                    retry: .deployUpdates(DeployRequest(host: host, collection: state.deploymentCollection, updateIds: state.updateIds)),
                    phase: .deploying)
            return
        }
        if report.pendingReboot {
            guard state.reboots < policy.maxRebootsPerHost else {
                giveUp("host still reports a pending reboot after \(state.reboots) reboot(s)")
                return
            }
            // Drain guarantees no running VM is left; the worker checks again
            // before rebooting (observe, then act).
            state.phase = .rebooting
            issue(.rebootHost(HostRef(host: host)))
            return
        }
        // Scoped to exactly the deployed updates: anything not reported installed is pending.
        let installed = Set(report.installed)
        let pending = state.updateIds.filter { !installed.contains($0) }
        if pending.isEmpty {
            state.installedUpdates = state.updateIds
            startResume()
            return
        }
        if let deadline = state.installDeadline, now >= deadline {
            failure("install timeout (\(Int(policy.installTimeoutSeconds)) s): still pending: \(pending.joined(separator: ", "))",
                    retry: .deployUpdates(DeployRequest(host: host, collection: state.deploymentCollection, updateIds: state.updateIds)),
                    phase: .deploying)
            return
        }
        issue(.wakeAt(WakeRequest(at: now.adding(seconds: policy.pollIntervalSeconds), purpose: "poll")))
    }

    /// Back from its restart: counted, then a rescan (a reboot often
    /// completes an install or reveals the next one).
    mutating func hostBack() {
        state.reboots += 1
        state.phase = .polling
        issue(.pollCompliance(ComplianceRequest(host: host, updateIds: state.updateIds)))
    }

    /// Not back from its restart yet: look again after the poll interval —
    /// a timer through the broker's delay queues, not a worker holding a
    /// task slot for the length of a reboot — until the reboot deadline;
    /// then the wait has failed (retry or give up, like any step).
    mutating func hostNotBack(_ report: HostNotBack) {
        switch report.reading {
        case .restartPending:
            // Answering, restart still pending. Seen down since the restart
            // was issued: it restarted, and needs another (the rescan below
            // says so and the reboot count decides). Not seen down: the
            // restart has not begun yet; counting it now would count one
            // restart as two and reboot a host that is still going down.
            if state.downSinceReboot != false {
                hostBack()
                return
            }
        case .updateClientSilent:
            break  // no proof either way
        case .down, .notResponding, nil:
            state.downSinceReboot = true
        }
        let deadline = state.rebootDeadline ?? now
        guard now < deadline else {
            if state.downSinceReboot == false {
                // Never seen going down: the restart was lost (or refused
                // quietly). Asking for it again is the retry; the worker
                // restarts only a host that still has one pending.
                failure("the restart of '\(host)' never began: the host answered for \(Int(policy.rebootTimeoutSeconds)) seconds after it was asked (\(report.detail))",
                        retry: .rebootHost(HostRef(host: host)), phase: .rebooting)
                return
            }
            failure("host did not come back after reboot: Host '\(host)' did not respond within \(Int(policy.rebootTimeoutSeconds)) seconds after restart (\(report.detail))",
                    retry: .waitForHost(WaitForHostRequest(host: host, timeoutSeconds: policy.rebootTimeoutSeconds)),
                    phase: .waitingForHost)
            return
        }
        issue(.wakeAt(WakeRequest(at: min(now.adding(seconds: policy.pollIntervalSeconds), deadline), purpose: "host back?")))
    }

    mutating func timerFired() {
        switch state.phase {
        case .polling:
            issue(.pollCompliance(ComplianceRequest(host: host, updateIds: state.updateIds)))
        case .waitingForHost:
            issue(.waitForHost(WaitForHostRequest(host: host, timeoutSeconds: policy.rebootTimeoutSeconds)))
        case .retryWait:
            guard let command = state.retryCommand, let phase = state.retryPhase else { return }
            if state.cancelRequested && !state.enteredMaintenance {
                stopBeforeDrain("job cancelled before the drain")
                return
            }
            state.retryCommand = nil
            state.retryPhase = nil
            state.phase = phase
            // A retried wait for the host gets the whole reboot timeout again.
            if phase == .waitingForHost { state.rebootDeadline = now.adding(seconds: policy.rebootTimeoutSeconds) }
            issue(command)
        default:
            return
        }
    }
}
