/// The host saga: a pure state machine.
///
/// `reduce(state, event) -> (state, [command])`: no I/O, no clock (time is
/// `event.now`), deterministic. At most one command is outstanding at a time;
/// it carries the saga version, and only an answer carrying that same version
/// (and of the matching kind) is applied. Anything else — a duplicate, a
/// redelivery of an old answer, an answer to a retried step — is stale and
/// changes nothing.
public enum HostSaga {
    public static func reduce(_ state: HostSagaState, _ event: SagaEvent) -> (HostSagaState, [SagaCommand]) {
        guard event.sagaId == state.sagaId, !state.isDone else { return (state, []) }
        var step = SagaStep(state: state, now: event.now)
        if event.body.isControl {
            step.control(event.body)
        } else {
            guard let awaiting = state.awaiting, event.sagaVersion == state.version,
                  event.body.answers(awaiting) else { return (state, []) }
            step.state.awaiting = nil
            step.state.awaitingDeadline = nil
            step.answer(event.body)
        }
        step.recordTimeline(from: state, control: event.body.isControl ? event.body : nil)
        return (step.state, step.commands)
    }

    /// The saga-level timeout: if the outstanding task has gone unanswered
    /// past its deadline, the event that records it as a timed-out attempt
    /// (it then follows the step's usual failure path: retry with backoff,
    /// then give up per policy). The coordinator checks this on its own
    /// clock, so it fires even when no worker is left to answer. A late
    /// answer to the abandoned attempt is stale (older version) and ignored.
    ///
    /// `minimumWaitSeconds`: a floor under every deadline, for time-scaled
    /// runs (the lab, the demo), where a policy's 15 minutes are a second of
    /// wall-clock time and a busy machine alone would miss them.
    public static func overdue(_ state: HostSagaState, at now: Instant, minimumWaitSeconds: Double = 0) -> SagaEvent? {
        guard !state.isDone, let kind = state.awaiting, var deadline = state.awaitingDeadline else { return nil }
        if let since = state.awaitingSince { deadline = max(deadline, since.adding(seconds: minimumWaitSeconds)) }
        guard now >= deadline else { return nil }
        let waited = Int(deadline.seconds(since: state.awaitingSince ?? deadline))
        let error = BackendError(.timeout, "no answer to \(kind.rawValue) within \(waited) s (saga-level timeout): no worker took the task, or it never reported back")
        return SagaEvent(sagaId: state.sagaId, sagaVersion: state.version, now: now,
                         body: .commandFailed(CommandFailure(step: kind, error: error)))
    }

    /// Convenience for callers that only care whether an event was applied.
    public static func wouldApply(_ state: HostSagaState, _ event: SagaEvent) -> Bool {
        let (next, commands) = reduce(state, event)
        return next != state || !commands.isEmpty
    }
}

/// One application of the reducer: the state being built and the commands issued.
struct SagaStep {
    var state: HostSagaState
    let now: Instant
    var commands: [SagaCommand] = []
    /// What the timeline says of this step, where the issued command cannot
    /// (a saga handed back to the waiting list issues none).
    var timelineDetail: String?

    init(state: HostSagaState, now: Instant) {
        self.state = state
        self.now = now
    }

    var policy: Policy { state.policy }
    var host: String { state.host }

    // MARK: Issuing and finishing

    /// Issues the saga's next command, or holds it back while the job is paused.
    mutating func issue(_ body: CommandBody) {
        if state.paused {
            state.withheld = body
            return
        }
        state.version += 1
        state.awaiting = body.kind
        state.awaitingSince = now
        state.awaitingDeadline = body.kind == .wakeAt ? nil : now.adding(seconds: body.ownTimeoutSeconds + policy.taskTimeoutSeconds)
        if body.kind == .enterMaintenance { state.maintenanceRequested = true }
        commands.append(SagaCommand(sagaId: state.sagaId, jobId: state.jobId, host: host, cluster: state.cluster,
                                    sagaVersion: state.version, issuedAt: now, body: body))
    }

    mutating func finish(_ kind: HostOutcome.Kind, _ reason: String?, inMaintenance: Bool = false, countsAsFailure: Bool = false) {
        state.phase = .done
        state.awaiting = nil
        state.awaitingDeadline = nil
        state.withheld = nil
        state.finishedAt = now
        state.outcome = HostOutcome(kind: kind, reason: reason, inMaintenance: inMaintenance, countsAsFailure: countsAsFailure)
    }

    mutating func note(_ message: String, vm: String? = nil) {
        state.notes.append(SagaNote(vm: vm, message: message))
    }

    // MARK: Control events

    mutating func control(_ body: EventBody) {
        switch body {
        case .start:
            guard state.phase == .pending else { return }
            state.startedAt = now
            state.phase = .prechecking
            issue(.observeCluster(HostRef(host: host)))
        case .skip(let payload):
            guard state.phase == .pending else { return }
            finish(.skipped, payload.reason)
        case .cancel:
            guard !state.cancelRequested else { return }
            state.cancelRequested = true
            if state.phase == .pending {
                finish(.cancelled, "job cancelled before this host started")
                return
            }
            // Cancel wins over pause: the job is ending, so bring the host
            // back to a safe state rather than freeze it halfway.
            state.paused = false
            if let withheld = state.withheld {
                state.withheld = nil
                continueAfterCancel(withheld)
            }
        case .pause:
            guard !state.paused, !state.cancelRequested else { return }
            state.paused = true
        case .resume:
            guard state.paused else { return }
            state.paused = false
            if let withheld = state.withheld {
                state.withheld = nil
                issue(withheld)
            }
        default:
            return
        }
    }

    /// A cancel arrived while the next command was held back by a pause:
    /// decide at this boundary exactly as an answer would have.
    mutating func continueAfterCancel(_ withheld: CommandBody) {
        switch state.phase {
        case .prechecking, .enteringMaintenance:
            stopBeforeDrain("job cancelled before the drain")
        case .draining:
            compensate("job cancelled during the drain")
        case .retryWait where !state.enteredMaintenance:
            stopBeforeDrain("job cancelled before the drain")
        default:
            issue(withheld)
        }
    }

    /// Ends a saga that has not drained anything: untouched if maintenance
    /// was never requested, otherwise take back the maintenance that may
    /// have landed.
    mutating func stopBeforeDrain(_ reason: String) {
        if state.maintenanceRequested {
            state.enteredMaintenance = true
            compensate(reason)
        } else {
            finish(.cancelled, "job cancelled before this host was touched")
        }
    }

    // MARK: Answers

    mutating func answer(_ body: EventBody) {
        switch body {
        case .clusterObserved(let snapshot):
            if state.phase == .draining { verifyDrain(snapshot) } else { precheck(snapshot) }
        case .maintenanceEntered where state.phase == .draining && state.drainVerified:
            drainedHostInMaintenance()
        case .maintenanceEntered:
            state.enteredMaintenance = true
            state.inMaintenance = true
            state.drainDeadline = now.adding(seconds: policy.drainTimeoutSeconds)
            state.phase = .draining
            nextDrainStep()
        case .vmActionSucceeded(let result): vmActionSucceeded(result)
        case .vmActionFailed(let failure): vmActionFailed(vm: failure.vm, action: failure.action, error: failure.error)
        case .updatesDeployed:
            state.installDeadline = now.adding(seconds: policy.installTimeoutSeconds)
            state.phase = .polling
            issue(.wakeAt(WakeRequest(at: now.adding(seconds: policy.pollIntervalSeconds), purpose: "poll")))
        case .complianceReported(let report): complianceReported(report)
        case .rebootIssued:
            state.phase = .waitingForHost
            state.downSinceReboot = false
            state.rebootDeadline = now.adding(seconds: policy.rebootTimeoutSeconds)
            issue(.waitForHost(WaitForHostRequest(host: host, timeoutSeconds: policy.rebootTimeoutSeconds)))
        case .hostNotBack(let report): hostNotBack(report)
        case .hostAnswered: hostBack()
        case .maintenanceExited:
            state.inMaintenance = false
            state.phase = .checkingHealth
            issue(.checkHealth(HostRef(host: host)))
        case .healthReported(let health):
            if health.healthy {
                state.returnedAt = now
                startRestarts()
            } else {
                failure("host unhealthy after leaving maintenance: \(health.detail)",
                        retry: .checkHealth(HostRef(host: host)), phase: .checkingHealth)
            }
        case .failbackFinished(let outcome): failbackFinished(outcome)
        case .timerFired: timerFired()
        case .commandFailed(let failure): commandFailed(failure)
        case .start, .skip, .cancel, .pause, .resume:
            return
        }
    }
}
