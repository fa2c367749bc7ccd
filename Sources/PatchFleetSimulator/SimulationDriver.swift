import PatchFleetCore

/// Runs the saga core and a scheduler against the simulated datacenter
/// in-process, on virtual time: a discrete-event loop over an agenda of
/// answers, scheduler ticks and job controls. Deterministic for a given
/// scenario and scheduler.
public struct SimulationDriver: Sendable {
    public var scenario: SimulationScenario
    public var scheduler: any SchedulingStrategy
    /// Guards against a livelock turning into a hung test.
    public var maxSteps: Int

    public init(scenario: SimulationScenario, scheduler: any SchedulingStrategy = Scheduler(), maxSteps: Int = 100_000) {
        self.scenario = scenario
        self.scheduler = scheduler
        self.maxSteps = maxSteps
    }

    public func run() -> SimulationRun {
        var loop = EventLoop(scenario: scenario, scheduler: scheduler)
        loop.run(maxSteps: maxSteps)
        return loop.result()
    }
}

/// The mutable part of one run.
struct EventLoop {
    enum Item {
        case deliver(SagaEvent)
        case tick
        case control(ScheduledControl.Action)
    }

    struct Entry {
        var at: Instant
        var seq: Int
        var item: Item
    }

    let scenario: SimulationScenario
    let scheduler: any SchedulingStrategy
    let clock: VirtualClock
    let datacenter: SimulatedDatacenter
    let initialInventory: Inventory
    var sagaOrder: [String] = []
    var sagas: [String: HostSagaState] = [:]
    var agenda: [Entry] = []
    var nextSeq = 0
    var now: Instant
    var control = JobControl()
    var rng: SeededGenerator
    var problems: [String] = []
    var commandsIssued = 0
    var staleIgnored = 0

    init(scenario: SimulationScenario, scheduler: any SchedulingStrategy) {
        self.scenario = scenario
        self.scheduler = scheduler
        self.now = scenario.start
        self.clock = VirtualClock(start: scenario.start)
        self.datacenter = SimulatedDatacenter(configuration: scenario.lab, clock: clock)
        self.initialInventory = scenario.lab.inventory
        self.rng = SeededGenerator(seed: scenario.seed ^ 0xD1B5_4A32_D192_ED03)
        let job = scenario.job
        let updateIds = TargetResolver.updateIds(job, in: initialInventory)
        for target in TargetResolver.resolve(job, in: initialInventory) {
            let saga = HostSagaState(jobId: job.id, target: target, policy: job.policy, updateIds: updateIds,
                                     deploymentCollection: job.deploymentCollectionName)
            sagaOrder.append(saga.sagaId)
            sagas[saga.sagaId] = saga
        }
    }

    mutating func push(_ item: Item, at: Instant) {
        agenda.append(Entry(at: max(at, now), seq: nextSeq, item: item))
        nextSeq += 1
    }

    mutating func popEarliest() -> Entry? {
        guard let index = agenda.indices.min(by: { (agenda[$0].at, agenda[$0].seq) < (agenda[$1].at, agenda[$1].seq) }) else {
            return nil
        }
        return agenda.remove(at: index)
    }

    var orderedSagas: [HostSagaState] { sagaOrder.compactMap { sagas[$0] } }

    mutating func run(maxSteps: Int) {
        push(.tick, at: now)
        for control in scenario.controls {
            push(.control(control.action), at: scenario.start.adding(seconds: control.atSeconds))
        }
        var steps = 0
        while true {
            guard let entry = popEarliest() else {
                if quiesce() { continue }
                break
            }
            steps += 1
            if steps > maxSteps {
                problems.append("step limit of \(maxSteps) reached: the run did not settle")
                break
            }
            now = max(now, entry.at)
            clock.advance(to: now)
            datacenter.advance(to: now)
            switch entry.item {
            case .deliver(let event): apply(event)
            case .tick: schedule()
            case .control(let action): applyControl(action)
            }
        }
        for saga in orderedSagas where !saga.isDone {
            problems.append("saga \(saga.sagaId) never finished (phase \(saga.phase.rawValue), paused: \(saga.paused))")
        }
    }

    mutating func apply(_ event: SagaEvent) {
        guard let saga = sagas[event.sagaId] else { return }
        let (next, commands) = HostSaga.reduce(saga, event)
        if next == saga && commands.isEmpty && !event.body.isControl { staleIgnored += 1 }
        sagas[event.sagaId] = next
        for command in commands {
            commandsIssued += 1
            let (at, answer) = datacenter.perform(command, at: now)
            let reply = SagaEvent.answer(to: command, at: at, answer)
            push(.deliver(reply), at: at)
            if scenario.duplicateAnswers && rng.chance(0.15) {
                push(.deliver(reply), at: at.adding(seconds: rng.double(0...30)))
            }
        }
        if next.isDone && !saga.isDone { push(.tick, at: now) }
    }

    mutating func schedule() {
        let decision = scheduler.decide(SchedulingInput(policy: scenario.job.policy, sagas: orderedSagas,
                                                        inventory: datacenter.inventory, now: now, control: control))
        for skip in decision.skip {
            apply(.control(sagaId(of: skip.host), at: now, .skip(ReasonPayload(reason: skip.reason))))
        }
        for host in decision.start {
            apply(.control(sagaId(of: host), at: now, .start))
        }
        if let next = decision.nextEvaluationAt, next > now {
            push(.tick, at: next)
        }
    }

    mutating func applyControl(_ action: ScheduledControl.Action) {
        let body: EventBody
        switch action {
        case .pause:
            control.paused = true
            body = .pause
        case .resume:
            control.paused = false
            body = .resume
        case .cancel:
            control.cancelled = true
            control.paused = false
            body = .cancel
        }
        for id in sagaOrder {
            apply(.control(id, at: now, body))
        }
        push(.tick, at: now)
    }

    /// Nothing left on the agenda: start what can start, otherwise the hosts
    /// still pending will never start; skip them with the scheduler's reason.
    mutating func quiesce() -> Bool {
        let pending = orderedSagas.filter(\.isPending)
        guard !pending.isEmpty else { return false }
        let decision = scheduler.decide(SchedulingInput(policy: scenario.job.policy, sagas: orderedSagas,
                                                        inventory: datacenter.inventory, now: now, control: control))
        if !decision.start.isEmpty || !decision.skip.isEmpty {
            push(.tick, at: now)
            return true
        }
        for saga in pending {
            let reason = decision.waiting.first { $0.host == saga.host }?.reason ?? "never became eligible"
            apply(.control(saga.sagaId, at: now, .skip(ReasonPayload(reason: "not started: \(reason)"))))
        }
        return false
    }

    func sagaId(of host: String) -> String { "\(scenario.job.id):\(host)" }

    func result() -> SimulationRun {
        SimulationRun(scenario: scenario, report: JobReport(jobId: scenario.job.id, sagas: orderedSagas), sagas: orderedSagas,
                      initialInventory: initialInventory, finalInventory: datacenter.inventory,
                      history: datacenter.history, startedAt: scenario.start, endedAt: now,
                      driverProblems: problems, commandsIssued: commandsIssued, staleAnswersIgnored: staleIgnored)
    }
}
