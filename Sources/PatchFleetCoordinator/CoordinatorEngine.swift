import Foundation
import Logging
import PatchFleetCore
import PatchFleetReport
import PatchFleetStore
import PatchFleetWire

/// The coordinator's decisions: accepts jobs, runs the scheduler, applies
/// results to sagas, and writes every resulting message to the outbox in the
/// same store transaction as the state change. An actor, so one coordinator
/// process never races itself; the store's versions guard the rest.
public actor CoordinatorEngine {
    let store: any SagaStore
    let topology: FleetTopology
    let virtualization: any VirtualizationBackend
    let updates: any UpdateBackend
    let now: @Sendable () -> Instant
    let logger: Logger
    let scheduler: any SchedulingStrategy
    /// Update lists jobs may name. The update-manager protocol has no way to
    /// resolve a list yet, so the coordinator is configured with them.
    let updateLists: [UpdateList]
    /// How long the scheduler may reuse its last read of the inventory. Each
    /// read is three manager queries (three PowerShell sessions against a
    /// VMM server), so against real managers the tick must not read every
    /// time; the saga's own precheck observes its cluster fresh before
    /// touching a host, so a scheduling decision on a slightly older view
    /// never acts on it unchecked. Zero: read every tick (the simulator).
    let inventoryMaxAge: Duration
    /// Who may patch what (nil: anyone who can publish to the control exchange).
    let submitters: SubmitterPolicy?
    /// Saga seconds every task is given at least, whatever its deadline
    /// says (see `HostSaga.overdue`): the wall-clock floor times the time scale.
    let minimumTaskWaitSeconds: Double
    /// Prometheus series through swift-metrics (no-ops unless the process bootstrapped a backend).
    nonisolated public let metrics: CoordinatorMetrics
    /// Where each finished job's run report is written (HTML and JSON); nil: nowhere.
    let reports: ReportFiles?
    /// The shortest time between two ticks that finished hosts ask for
    /// (zero: tick at once). Every tick is a scheduling decision over the
    /// whole job, and a busy coordinator sees a host finish in nearly every
    /// batch of results: at 2,000 hosts, ticking on each took a fifth of
    /// its CPU (`patchfleet-bench fleet`). A tick asked for sooner is owed
    /// and run by `tickIfDue`; a freed slot waits at most this long.
    let minimumTickSpacing: Duration
    /// The clock of tick spacing and inventory age (tests move it by hand).
    let monotonicNow: @Sendable () -> ContinuousClock.Instant
    private var lastTick: ContinuousClock.Instant?
    private var tickOwed = false
    private var ticking = false
    private var cachedInventory: (read: ContinuousClock.Instant, inventory: Inventory)?
    /// Each unfinished job's sagas as last read, so a tick decodes only the
    /// sagas whose store version moved (see `SagaStore.sagas(jobId:reusing:)`).
    private var sagaCache: [String: [String: StoredSaga]] = [:]
    /// Since when each job has had nothing in flight and nothing it could
    /// start (saga time). See `quietGraceSeconds`.
    private var quietSince: [String: Instant] = [:]
    /// A job with pending hosts, nothing in flight and nothing startable for
    /// this long will never start them (a held host keeps its cluster's
    /// slot, a sick host stays sick): they are skipped with the scheduler's
    /// reason so the job ends and a person sees why. The grace lets a host
    /// that is down for a moment (someone else's reboot) come back first.
    static let quietGraceSeconds: Double = 900

    public init(store: any SagaStore, topology: FleetTopology, virtualization: any VirtualizationBackend,
                updates: any UpdateBackend, updateLists: [UpdateList], now: @escaping @Sendable () -> Instant,
                scheduler: any SchedulingStrategy = Scheduler(), inventoryMaxAge: Duration = .zero,
                submitters: SubmitterPolicy? = nil, minimumTaskWaitSeconds: Double = 0, reports: ReportFiles? = nil,
                metrics: CoordinatorMetrics = CoordinatorMetrics(), minimumTickSpacing: Duration = .zero,
                monotonicNow: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
                logger: Logger = Logger(label: "patchfleet.coordinator")) {
        self.minimumTickSpacing = minimumTickSpacing
        self.monotonicNow = monotonicNow
        self.metrics = metrics
        self.reports = reports
        self.minimumTaskWaitSeconds = minimumTaskWaitSeconds
        self.submitters = submitters
        self.inventoryMaxAge = inventoryMaxAge
        self.updateLists = updateLists
        self.store = store
        self.topology = topology
        self.virtualization = virtualization
        self.updates = updates
        self.now = now
        self.scheduler = scheduler
        self.logger = logger
    }

    public enum SubmitOutcome: Sendable, Equatable {
        case accepted(hosts: Int)
        /// Already accepted (the same submission message redelivered or
        /// republished): nothing to do.
        case duplicate
        case rejected([ValidationProblem])
        /// Refused without a `job.rejected` event: another submission
        /// reusing the id of a job that is running. The event is routed by
        /// job id, so announcing it would tell that job's followers their
        /// job was rejected; only the sender hears (reply_to, dead letter).
        case refused([ValidationProblem])
    }

    // MARK: Jobs

    /// Validates a job against the live inventory, expands its targets into
    /// host sagas and records them with the `job.accepted` event.
    ///
    /// `body` is the submission as it arrived: only the raw body shows options
    /// PatchFleet does not know (decoding drops them), and a misspelt option
    /// must be a problem, never silently its default.
    public func submit(_ submission: JobSubmission, messageId: String, body: Data? = nil, user: String? = nil) async -> SubmitOutcome {
        let spec = submission.job
        let at = now()
        let inventory: Inventory
        do {
            inventory = try await observeInventory(for: spec)
        } catch {
            return .rejected([ValidationProblem(path: "targets", message: "cannot read the inventory from the backends: \(error)")])
        }
        // Unknown options, then the job's own problems, then the names the
        // inventory does not know; each problem once (both lists include the
        // validator's findings).
        var problems: [ValidationProblem] = []
        for problem in (body.map(JobSubmission.validationProblems(body:)) ?? [])
            + JobSpecValidator.validate(spec, against: inventory) where !problems.contains(problem) {
            problems.append(problem)
        }
        guard problems.isEmpty else { return await reject(spec.id, messageId: messageId, problems) }
        let targets = TargetResolver.resolve(spec, in: inventory)
        if let submitters {
            let refused = submitters.problems(user: user, spec: spec, targets: targets)
            guard refused.isEmpty else { return await reject(spec.id, messageId: messageId, refused) }
        }
        do {
            let busy = try await busyClusters(targets, jobId: spec.id)
            guard busy.isEmpty else { return await reject(spec.id, messageId: messageId, busy) }
        } catch {
            return await reject(spec.id, messageId: messageId, [ValidationProblem(path: "", message: "cannot read the store: \(error)")])
        }
        let updateIds = TargetResolver.updateIds(spec, in: inventory)
        let notNeeded: [String: Set<String>]
        do {
            notNeeded = try await updatesNotNeeded(spec, targets: targets, inventory: inventory)
        } catch {
            return await reject(spec.id, messageId: messageId, [ValidationProblem(
                path: "updates.updateList", message: "cannot read which of the list's updates each host needs: \(error)")])
        }
        var preSkipped: [(from: HostSagaState, to: HostSagaState)] = []
        let sagas = targets.map { target -> HostSagaState in
            let skipped = notNeeded[target.host] ?? []
            let own = updateIds.filter { !skipped.contains(UpdateIdentity.normalize($0)) }
            let saga = HostSagaState(jobId: spec.id, target: target, policy: spec.policy, updateIds: own,
                                     deploymentCollection: spec.deploymentCollectionName)
            guard own.isEmpty else { return saga }
            // Nothing to install here: never drained or restarted for nothing.
            let reason = "nothing in update list '\(spec.updates.updateList ?? "")' applies to this host (the patch manager reports every update not required)"
            let ended = HostSaga.reduce(saga, .control(saga.sagaId, at: at, .skip(ReasonPayload(reason: reason)))).0
            preSkipped.append((saga, ended))
            return ended
        }
        do {
            let accepted = try OutboxEntry.event(FleetEvent(at: at, .job(JobStateChange(jobId: spec.id, state: PatchFleetWire.JobState.accepted))),
                                                 topology: topology, at: at)
            // A host skipped at submission is announced like any other ending.
            let endings = try preSkipped.flatMap { try messages(for: [], from: $0.from, to: $0.to, causation: nil) }
            try await store.createJob(JobRecord(spec: spec, state: PatchFleetStore.JobState.running, submittedAt: at,
                                                submissionMessageId: messageId), sagas: sagas, outbox: [accepted] + endings)
            for (from, to) in preSkipped { metrics.transition(from: from, to: to, at: at) }
        } catch SagaStoreError.duplicateJob {
            return await duplicateJobId(spec.id, messageId: messageId)
        } catch SagaStoreError.hostAlreadyHeld(let host, _, let otherJob) {
            return await reject(spec.id, messageId: messageId, [ValidationProblem(
                path: "targets", message: "host \(host) is already being patched by job \(otherJob)")])
        } catch {
            return await reject(spec.id, messageId: messageId, [ValidationProblem(path: "", message: "cannot record the job: \(error)")])
        }
        logger.notice("job \(spec.id) accepted: \(sagas.count) host(s)")
        await tick()
        return .accepted(hosts: sagas.count)
    }

    /// By host, the ids of a manager's own update list (a ConfigMgr software
    /// update group) the manager knows the host does not need. Lists from
    /// the coordinator's file, and explicit ids, are never scoped.
    func updatesNotNeeded(_ spec: JobSpec, targets: [TargetHost], inventory: Inventory) async throws(BackendError) -> [String: Set<String>] {
        guard let name = spec.updates.updateList, !updateLists.contains(where: { $0.name == name }),
              let list = inventory.updateLists.first(where: { $0.name == name }) else { return [:] }
        let notNeeded = try await updates.updatesNotNeeded(in: list, onHosts: targets.map(\.host))
        // An id also named explicitly is kept: the job asked for it by name.
        let explicit = Set((spec.updates.updateIds ?? []).map(UpdateIdentity.normalize))
        return notNeeded.mapValues { $0.subtracting(explicit) }
    }

    func reject(_ jobId: String, messageId: String, _ problems: [ValidationProblem]) async -> SubmitOutcome {
        logger.warning("job \(jobId) rejected: \(problems.map(\.description).joined(separator: "; "))")
        return .rejected(problems)
    }

    // MARK: Job control

    public enum ControlOutcome: Sendable, Equatable {
        case applied
        case refused(String)
    }

    /// Pause, resume or cancel a job: the job's state and every unfinished
    /// saga change in one step each, with the `job.<id>.<state>` event.
    /// Pause holds back each host's next step; cancel brings hosts in flight
    /// back to a safe state and skips the ones not started.
    public func control(_ request: JobControlRequest, user: String? = nil) async -> ControlOutcome {
        let at = now()
        do {
            guard let job = try await store.job(id: request.jobId) else {
                return .refused("there is no job '\(request.jobId)'")
            }
            if let submitters {
                let targets = try await store.sagas(jobId: job.id).map { TargetHost(host: $0.state.host, cluster: $0.state.cluster) }
                let refused = submitters.problems(user: user, spec: job.spec, targets: targets)
                guard refused.isEmpty else { return .refused(refused.map(\.message).joined(separator: "; ")) }
            }
            guard !job.state.isTerminal else {
                return .refused("job '\(request.jobId)' already ended (\(job.state.rawValue))")
            }
            let (storeState, eventState, body): (PatchFleetStore.JobState, PatchFleetWire.JobState, EventBody) = switch request.action {
            case .pause: (.paused, .paused, .pause)
            case .resume: (.running, .running, .resume)
            case .cancel: (.cancelling, .cancelling, .cancel)
            }
            if job.state == .cancelling && request.action != .cancel {
                return .refused("job '\(request.jobId)' is being cancelled; it can no longer be \(request.action.rawValue)d")
            }
            let event = try OutboxEntry.event(FleetEvent(at: at, .job(JobStateChange(
                jobId: job.id, state: eventState, reason: request.reason))), topology: topology, at: at)
            try await store.setJobState(jobId: job.id, to: storeState, report: nil, reason: request.reason, at: at, outbox: [event])
            let changed = try await applyToEverySaga(of: job.id, body, at: at)
            logger.notice("job \(job.id): \(request.action.rawValue) (\(changed) host saga(s) changed)")
        } catch {
            return .refused("cannot \(request.action.rawValue) job '\(request.jobId)': \(error)")
        }
        await tick()
        return .applied
    }

    /// A control step for every unfinished saga of the job. The engine is
    /// reentrant at every `await`: a result or a tick may move a saga on
    /// between the read and the write here, and the store then refuses that
    /// saga's transition (stale version). Those sagas are read again and
    /// the step reduced again, until every one took it; dropping it would
    /// leave a host unpaused, paused for good, or patched after a cancel.
    /// Returns how many sagas changed.
    private func applyToEverySaga(of jobId: String, _ body: EventBody, at: Instant) async throws -> Int {
        var changed = 0
        var sagas = try await store.sagas(jobId: jobId)
        for _ in 0..<Self.controlRounds {
            var transitions: [SagaTransition] = []
            for saga in sagas where !saga.state.isDone {
                let (next, commands) = HostSaga.reduce(saga.state, .control(saga.id, at: at, body))
                guard next != saga.state || !commands.isEmpty else { continue }
                transitions.append(SagaTransition(from: saga, to: next, inboxMessageId: nil,
                                                  outbox: try messages(for: commands, from: saga.state, to: next, causation: nil),
                                                  at: at))
            }
            guard !transitions.isEmpty else { return changed }
            var moved = Set<String>()
            for (transition, result) in zip(transitions, try await store.apply(transitions)) {
                switch result {
                case .applied: changed += 1
                case .staleVersion: moved.insert(transition.sagaId)
                case .duplicate: continue
                }
            }
            guard !moved.isEmpty else { return changed }
            logger.info("job \(jobId): \(moved.count) saga(s) moved on during a control step; reading them again")
            sagas = try await store.sagas(jobId: jobId).filter { moved.contains($0.id) }
        }
        throw ControlStepUnsettled(jobId: jobId, rounds: Self.controlRounds)
    }

    /// Rounds of re-reading before a control step gives up (each round
    /// needs a saga to move on again inside one store round trip).
    static let controlRounds = 20

    struct ControlStepUnsettled: Error, CustomStringConvertible {
        let jobId: String
        let rounds: Int
        var description: String { "sagas of job '\(jobId)' kept moving on through \(rounds) attempts; send the request again" }
    }

    // MARK: Queries

    /// Read-only answers for `patchfleet status|jobs|watch` on any machine
    /// that reaches the broker: one job's hosts, or the newest jobs.
    public func status(_ query: JobQuery) async -> JobStatusReply {
        do {
            guard let id = query.jobId else {
                return JobStatusReply(jobs: try await store.jobs(limit: query.limit ?? 20).map(Self.summary))
            }
            guard let job = try await store.job(id: id) else { return JobStatusReply(jobs: [], problem: "there is no job '\(id)'") }
            let sagas = try await store.sagas(jobId: id)
            let report = query.report == true ? try EmbeddedJSONObject(json: RunReport(job: job, sagas: sagas).json()) : nil
            return JobStatusReply(jobs: [Self.summary(job)], hosts: sagas.map { HostStateChange(saga: $0.state) }, report: report)
        } catch {
            return JobStatusReply(jobs: [], problem: "the coordinator cannot read its store: \(error)")
        }
    }

    public static func summary(_ job: JobRecord) -> JobSummary {
        let outcomes = job.report.map { report in
            Dictionary(uniqueKeysWithValues: HostOutcome.Kind.allCases.map { ($0.rawValue, report.count($0)) })
        }
        return JobSummary(id: job.id, state: job.state.rawValue, submittedAt: job.submittedAt, reason: job.reason, outcomes: outcomes)
    }

    // MARK: Results

    public enum ResultOutcome: Sendable, Equatable {
        case applied, duplicate, stale
        /// Cannot be processed: dead-letter with this reason.
        case refused(String)
    }

    /// Applies a worker's (or a timer's) answer to its saga. The saga's time
    /// is the coordinator's: the answer is re-stamped on arrival.
    public func apply(_ result: ResultMessage, messageId: String) async -> ResultOutcome {
        for _ in 0..<3 {
            let stored: StoredSaga?
            do { stored = try await store.saga(id: result.event.sagaId) } catch { return .refused("store error: \(error)") }
            guard let stored else { return .refused("saga \(result.event.sagaId) does not exist (job deleted or a forged result)") }
            var event = result.event
            event.now = now()
            let (next, commands) = HostSaga.reduce(stored.state, event)
            if next == stored.state && commands.isEmpty { return .stale }
            do {
                let outbox = try messages(for: commands, from: stored.state, to: next, causation: messageId)
                switch try await store.apply(inboxMessageId: messageId, receivedAt: event.now, sagaId: stored.id,
                                             expectedVersion: stored.version, newState: next, outbox: outbox) {
                case .applied:
                    metrics.transition(from: stored.state, to: next, at: event.now)
                    if next.isDone { await tickSoon() }
                    return .applied
                case .duplicate: return .duplicate
                case .staleVersion: continue  // someone moved the saga on: read again
                }
            } catch {
                return .refused("cannot apply the result: \(error)")
            }
        }
        return .refused("saga \(result.event.sagaId) kept changing while applying the result")
    }

    /// Every unfinished job with its sagas, for the gauges: decodes only
    /// the sagas whose store version moved since this engine last read or
    /// wrote them (reading and decoding all of them every sample cost the
    /// coordinator 7 % of its CPU in `patchfleet-bench fleet`).
    public func unfinishedJobsAndSagas() async throws(SagaStoreError) -> (jobs: [JobRecord], sagas: [StoredSaga]) {
        let jobs = try await store.unfinishedJobs()
        var sagas: [StoredSaga] = []
        for job in jobs {
            let stored = try await store.sagas(jobId: job.id, reusing: sagaCache[job.id] ?? [:])
            if sagaCache[job.id] != nil { keepNewer(stored, job: job.id) }
            sagas += stored
        }
        return (jobs, sagas)
    }

    // MARK: Scheduling

    /// A tick now, or owed if the last one is younger than `minimumTickSpacing`.
    func tickSoon() async {
        if let lastTick, monotonicNow() - lastTick < minimumTickSpacing {
            tickOwed = true
            return
        }
        await tick()
    }

    /// For the service's timer: a tick when one is owed and the spacing has
    /// passed, or when the last tick is older than `interval`. True if it ticked.
    @discardableResult
    public func tickIfDue(interval: Duration) async -> Bool {
        if let lastTick {
            let since = monotonicNow() - lastTick
            guard since >= interval || (tickOwed && since >= minimumTickSpacing) else { return false }
        }
        await tick()
        return true
    }

    /// Starts (or skips) what the scheduler says, for every running job, and
    /// finishes jobs whose hosts are all done.
    ///
    /// One at a time: the actor is reentrant at every `await`, and two
    /// ticks deciding on reads taken at different moments could each start
    /// a host of the same cluster. A tick asked for while one runs is owed
    /// (the service's timer runs it, see `tickIfDue`).
    public func tick() async {
        guard !ticking else {
            tickOwed = true
            return
        }
        ticking = true
        defer { ticking = false }
        lastTick = monotonicNow()
        tickOwed = false
        do {
            let jobs = try await store.unfinishedJobs()
            guard !jobs.isEmpty else { return }
            let (inventory, fresh) = try await schedulingInventory()
            for job in jobs { try await schedule(job, inventory: inventory, fresh: fresh) }
        } catch {
            tickOwed = true  // whatever asked for it still needs it
            logger.error("scheduler tick failed: \(error)")
        }
    }

    /// `fresh`: the inventory was read for this tick, not reused from an
    /// earlier one (`inventoryMaxAge`). A decision to start hosts is only
    /// acted on over a fresh one: a host that went down or into someone's
    /// maintenance since the last read must count against the cluster's
    /// `maxUnavailablePerCluster` before another is taken out.
    private func schedule(_ job: JobRecord, inventory: Inventory, fresh: Bool) async throws {
        let stored = try await store.sagas(jobId: job.id, reusing: sagaCache[job.id] ?? [:])
        if sagaCache[job.id] == nil { sagaCache[job.id] = [:] }
        keepNewer(stored, job: job.id)
        let at = now()
        let control = JobControl(paused: job.state == PatchFleetStore.JobState.paused,
                                 cancelled: job.state == PatchFleetStore.JobState.cancelling)
        let decision = scheduler.decide(SchedulingInput(policy: job.spec.policy, sagas: stored.map(\.state),
                                                        inventory: inventory, now: at, control: control))
        var transitions: [SagaTransition] = []
        // Saga-level timeouts first: an unanswered task becomes a timed-out
        // attempt on the coordinator's own clock, whether or not any worker
        // is still there to answer.
        for saga in stored {
            guard let overdue = HostSaga.overdue(saga.state, at: at, minimumWaitSeconds: minimumTaskWaitSeconds) else { continue }
            let (next, commands) = HostSaga.reduce(saga.state, overdue)
            logger.warning("host \(saga.state.host): \(saga.state.awaiting?.rawValue ?? "task") unanswered past its deadline; counted as a timed-out attempt")
            transitions.append(SagaTransition(from: saga, to: next, inboxMessageId: nil,
                                              outbox: try messages(for: commands, from: saga.state, to: next, causation: nil), at: at))
        }
        if !transitions.isEmpty {
            try await applyObserved(transitions, from: stored)
            transitions = []
            return try await schedule(job, inventory: inventory, fresh: fresh)
        }
        if !decision.start.isEmpty && !fresh {
            return try await schedule(job, inventory: try await freshInventory(), fresh: true)
        }
        for skip in decision.skip {
            guard let saga = stored.first(where: { $0.state.host == skip.host }) else { continue }
            let (next, commands) = HostSaga.reduce(saga.state, .control(saga.id, at: at, .skip(ReasonPayload(reason: skip.reason))))
            transitions.append(SagaTransition(from: saga, to: next, inboxMessageId: nil,
                                              outbox: try messages(for: commands, from: saga.state, to: next, causation: nil), at: at))
        }
        for host in decision.start {
            guard let saga = stored.first(where: { $0.state.host == host }) else { continue }
            let (next, commands) = HostSaga.reduce(saga.state, .control(saga.id, at: at, .start))
            transitions.append(SagaTransition(from: saga, to: next, inboxMessageId: nil,
                                              outbox: try messages(for: commands, from: saga.state, to: next, causation: nil), at: at))
        }
        let quiet = decision.start.isEmpty && decision.skip.isEmpty && decision.nextEvaluationAt == nil
            && !control.paused && !stored.contains { $0.state.isActive } && stored.contains { $0.state.isPending }
        if quiet {
            let since = quietSince[job.id] ?? at
            quietSince[job.id] = since
            if at.seconds(since: since) >= Self.quietGraceSeconds {
                for saga in stored where saga.state.isPending {
                    let reason = decision.waiting.first { $0.host == saga.state.host }?.reason ?? "never became eligible"
                    let (next, commands) = HostSaga.reduce(saga.state, .control(saga.id, at: at, .skip(ReasonPayload(reason: "not started: \(reason)"))))
                    transitions.append(SagaTransition(from: saga, to: next, inboxMessageId: nil,
                                                      outbox: try messages(for: commands, from: saga.state, to: next, causation: nil), at: at))
                }
                quietSince[job.id] = nil
            }
        } else {
            quietSince[job.id] = nil
        }
        if !decision.start.isEmpty, try await store.job(id: job.id)?.state != job.state {
            // Paused, resumed or cancelled since this tick read the job:
            // decide again on the job as it is now (the control step also
            // re-reads any saga started here meanwhile, see `applyToEverySaga`).
            tickOwed = true
            return
        }
        if !transitions.isEmpty { try await applyObserved(transitions, from: stored) }
        let sagas = transitions.isEmpty ? stored.map(\.state)
            : try await store.sagas(jobId: job.id, reusing: sagaCache[job.id] ?? [:]).map(\.state)
        if sagas.allSatisfy(\.isDone) {
            let report = JobReport(jobId: job.id, sagas: sagas)
            let finished = try OutboxEntry.event(FleetEvent(at: at, .job(JobStateChange(
                jobId: job.id, state: Self.eventState(report), reason: Self.summary(report)))), topology: topology, at: at)
            // The report first, so whoever sees the job's final event finds its report.
            var ended = job
            (ended.state, ended.updatedAt, ended.report) = (.finished, at, report)
            await writeReport(ended)
            try await store.setJobState(jobId: job.id, to: PatchFleetStore.JobState.finished, report: report, reason: nil, at: at, outbox: [finished])
            logger.notice("job \(job.id) finished: \(Self.summary(report))")
            sagaCache[job.id] = nil
        }
    }

    /// The run report of a job that is finishing, for people. A failure
    /// here (a full disk) is logged and never blocks or undoes the job;
    /// `patchfleet report` renders the same from the store at any time.
    private func writeReport(_ job: JobRecord) async {
        guard let reports else { return }
        do {
            let files = try reports.write(RunReport(job: job, sagas: try await store.sagas(jobId: job.id)))
            logger.notice("job \(job.id): run report written to \(files.map(\.path).joined(separator: " and "))")
        } catch {
            logger.error("job \(job.id): cannot write its run report to \(reports.directory.path): \(error)")
        }
    }

    /// How a finished job is announced: failed if any host failed (or was held
    /// for a failure), cancelled if any host was cancelled, else succeeded.
    /// Hosts held by policy (Rule 1, standalone) do not fail the job.
    static func eventState(_ report: JobReport) -> PatchFleetWire.JobState {
        if report.hosts.contains(where: { $0.outcome?.kind == .failed || $0.outcome?.countsAsFailure == true }) { return .failed }
        if report.count(.cancelled) > 0 { return .cancelled }
        return .succeeded
    }

    static func summary(_ report: JobReport) -> String {
        HostOutcome.Kind.allCases.map { "\($0.rawValue) \(report.count($0))" }.joined(separator: ", ")
    }

    // MARK: Helpers

    /// Commits `transitions`; keeps the copies that took (see `remember`)
    /// and records them in the metrics.
    private func applyObserved(_ transitions: [SagaTransition], from stored: [StoredSaga]) async throws {
        let results = try await store.apply(transitions)
        let before = Dictionary(stored.map { ($0.id, $0.state) }, uniquingKeysWith: { first, _ in first })
        for (transition, result) in zip(transitions, results) {
            guard case .applied(let version) = result else { continue }
            remember(StoredSaga(state: transition.newState, version: version, updatedAt: transition.at))
            if let old = before[transition.sagaId] { metrics.transition(from: old, to: transition.newState, at: transition.at) }
        }
    }

    /// Puts what was just read into the cache, except over a newer copy: the
    /// read suspended the actor, and a batch of results may have written
    /// (and remembered) a later version meanwhile. A stale copy would not be
    /// unsafe (the store refuses its version) but would send those results
    /// down the one-by-one path.
    private func keepNewer(_ sagas: [StoredSaga], job: String) {
        guard sagaCache[job] != nil else { return }
        for saga in sagas where (sagaCache[job]![saga.id]?.version ?? -1) < saga.version {
            sagaCache[job]![saga.id] = saga
        }
    }

    /// A saga as this engine last read or wrote it (nil if it has no copy).
    func cachedSaga(_ sagaId: String, job: String) -> StoredSaga? { sagaCache[job]?[sagaId] }

    /// Keeps the copy of a saga this engine just wrote, for the next tick
    /// and the next result (only for jobs whose sagas it already holds).
    func remember(_ saga: StoredSaga) {
        guard sagaCache[saga.state.jobId] != nil else { return }
        sagaCache[saga.state.jobId]![saga.id] = saga
    }

    /// Tasks and timers for `commands`, plus a host event when the phase or outcome changed.
    func messages(for commands: [SagaCommand], from old: HostSagaState, to new: HostSagaState,
                          causation: String?) throws -> [OutboxMessage] {
        let at = now()
        // One command outstanding at a time: the new state's deadline is its deadline.
        var outbox = try commands.map { try OutboxEntry.command($0, topology: topology, causation: causation,
                                                                deadline: new.awaitingDeadline, at: at) }
        if old.phase != new.phase || old.outcome != new.outcome {
            outbox.append(try OutboxEntry.event(FleetEvent(at: at, .host(HostStateChange(saga: new))), topology: topology, at: at))
        }
        return outbox
    }

    /// The inventory for a scheduling round: the last read while it is
    /// younger than `inventoryMaxAge`, else a fresh one.
    private func schedulingInventory() async throws(BackendError) -> (inventory: Inventory, fresh: Bool) {
        if let cached = cachedInventory, monotonicNow() - cached.read < inventoryMaxAge { return (cached.inventory, false) }
        return (try await freshInventory(), true)
    }

    /// The inventory read now, and kept for the ticks that may reuse it.
    private func freshInventory() async throws(BackendError) -> Inventory {
        let inventory = try await observeInventory()
        cachedInventory = (monotonicNow(), inventory)
        return inventory
    }

    /// The datacenter as the backends report it now, for validation and
    /// scheduling; with a job, also the members of the collection it targets.
    func observeInventory(for spec: JobSpec? = nil) async throws(BackendError) -> Inventory {
        let clusters = try await virtualization.listClusters()
        let hosts = try await virtualization.listHosts(cluster: nil)
        let vms = try await virtualization.listVMs(host: nil)
        var collections: [DeviceCollection] = []
        if let name = spec?.targets.collection {
            collections.append(DeviceCollection(name: name, members: try await updates.collectionMembers(name)))
        }
        var lists = updateLists
        // The coordinator's file first (an operator's explicit list), then
        // the patch manager's own (a ConfigMgr software update group): read
        // once, at submission, so the job deploys the updates the group
        // held when it was accepted, whatever the group gets later.
        if let name = spec?.updates.updateList, !lists.contains(where: { $0.name == name }),
           let managed = try await updates.updateList(named: name) {
            lists.append(managed)
        }
        return Inventory(clusters: clusters, hosts: hosts, vms: vms, collections: collections, updateLists: lists)
    }
}

extension HostStateChange {
    /// A host as its saga stands: what the host events and status answers say.
    public init(saga: HostSagaState) {
        self.init(jobId: saga.jobId, host: saga.host, cluster: saga.cluster, phase: saga.phase,
                  outcome: saga.outcome, reason: saga.outcome?.reason)
    }
}
