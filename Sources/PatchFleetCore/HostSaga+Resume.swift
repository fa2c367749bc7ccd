/// Back to service: exit maintenance, health check, restart what we turned
/// off, fail back (Rule 3), finish.
extension SagaStep {
    // MARK: Resume, restart, failback

    mutating func startResume() {
        state.retryPhase = nil
        state.phase = .exitingMaintenance
        issue(.exitMaintenance(HostRef(host: host)))
    }

    mutating func startRestarts() {
        state.restartQueue = state.turnedOff.map(\.vm)
        state.phase = .restartingVMs
        nextRestart()
    }

    mutating func nextRestart() {
        guard let vm = state.restartQueue.first else {
            startFailback()
            return
        }
        issue(.vmAction(VMActionRequest(host: host, vm: vm, action: VMAction(.start), timeoutSeconds: policy.vmMigrationTimeoutSeconds)))
    }

    mutating func startFailback() {
        guard state.resumeMode != .compensation else {
            finishResume()
            return
        }
        guard policy.failback == .original else {
            for moved in state.moved {
                note("Rule 3: left on \(moved.movedTo) (failback: none)", vm: moved.vm)
            }
            finishResume()
            return
        }
        state.failbackQueue = state.moved
        state.phase = .rebalancing
        nextFailback()
    }

    mutating func nextFailback() {
        guard let moved = state.failbackQueue.first else {
            finishResume()
            return
        }
        issue(.failbackVM(FailbackRequest(vm: moved.vm, expectedHost: moved.movedTo, home: moved.home,
                                          timeoutSeconds: policy.vmMigrationTimeoutSeconds)))
    }

    mutating func failbackFinished(_ outcome: FailbackOutcome) {
        guard state.failbackQueue.first?.vm == outcome.vm else { return }
        let moved = state.failbackQueue.removeFirst()
        switch outcome.result {
        case .movedHome, .alreadyHome:
            state.returnedHome?.append(moved)
        case .deleted:
            note("Rule 3: deleted by someone else during the job; nothing to move back", vm: outcome.vm)
        case .movedByOthers:
            note("Rule 3: moved by someone else since the drain (\(outcome.detail)); left where it is", vm: outcome.vm)
        case .noCapacity:
            note("Rule 3: not moved back, no capacity on \(moved.home) (\(outcome.detail)); left on \(moved.movedTo)", vm: outcome.vm)
        case .failed:
            note("Rule 3: moving back failed (\(outcome.detail)); left on \(moved.movedTo)", vm: outcome.vm)
        }
        nextFailback()
    }

    mutating func finishResume() {
        switch state.resumeMode {
        case .normal:
            finish(.patched, state.cancelRequested ? "cancel requested after the drain; host finished and returned to service" : nil)
        case .afterFailure:
            finish(.failed, "\(state.resumeReason ?? "failed"); host returned to service unpatched (onFailure: resume)", countsAsFailure: true)
        case .compensation:
            if state.cancelRequested {
                finish(.cancelled, state.resumeReason)
            } else {
                finish(.held, "drain compensated: \(state.resumeReason ?? "drain failed"); host back in service, unpatched", countsAsFailure: true)
            }
        }
    }
}
