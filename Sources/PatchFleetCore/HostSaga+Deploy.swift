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

    mutating func timerFired() {
        switch state.phase {
        case .polling:
            issue(.pollCompliance(ComplianceRequest(host: host, updateIds: state.updateIds)))
        case .retryWait:
            guard let command = state.retryCommand, let phase = state.retryPhase else { return }
            if state.cancelRequested && !state.enteredMaintenance {
                stopBeforeDrain("job cancelled before the drain")
                return
            }
            state.retryCommand = nil
            state.retryPhase = nil
            state.phase = phase
            issue(command)
        default:
            return
        }
    }
}
