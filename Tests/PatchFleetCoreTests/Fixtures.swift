import PatchFleetCore

/// Small hand-made datacenters for the rule tests.
enum Fixtures {
    static let t0 = Instant(secondsSinceEpoch: 1_800_000_000)

    /// One cluster C1 of `hosts` hosts (64 GB each); C1-H1 runs web1 (4 GB) and web2 (8 GB).
    static func cluster(hosts: Int = 3, memoryMB: Int = 65536, extraVMs: [VM] = []) -> Inventory {
        var inventory = Inventory(clusters: [Cluster(name: "C1")])
        for index in 1...hosts {
            inventory.hosts.append(Host(name: "C1-H\(index)", cluster: "C1", memoryMB: memoryMB))
        }
        inventory.vms = [
            VM(name: "web1", memoryMB: 4096, host: "C1-H1"),
            VM(name: "web2", memoryMB: 8192, host: "C1-H1"),
        ] + extraVMs
        inventory.updateLists = [UpdateList(name: "Nov", updateIds: ["KB1", "KB2"])]
        return inventory
    }

    static func saga(host: String = "C1-H1", cluster: String? = "C1", policy: Policy = Policy()) -> HostSagaState {
        HostSagaState(jobId: "job1", target: TargetHost(host: host, cluster: cluster), policy: policy,
                      updateIds: ["KB1", "KB2"], deploymentCollection: "PatchFleet job1")
    }
}

/// Drives one saga by hand: sends events, records the commands it issues,
/// and can answer commands automatically with a scripted responder.
struct SagaHarness {
    var state: HostSagaState
    var inventory: Inventory
    var now = Fixtures.t0
    var issued: [SagaCommand] = []
    var outstanding: SagaCommand?

    init(_ state: HostSagaState = Fixtures.saga(), inventory: Inventory = Fixtures.cluster()) {
        self.state = state
        self.inventory = inventory
    }

    /// A saga of C1-H1 under `policy`, started.
    static func started(_ policy: Policy, inventory: Inventory = Fixtures.cluster()) -> SagaHarness {
        var harness = SagaHarness(Fixtures.saga(policy: policy), inventory: inventory)
        harness.send(.start)
        return harness
    }

    @discardableResult
    mutating func send(_ body: EventBody) -> [SagaCommand] {
        deliver(.control(state.sagaId, at: now, body))
    }

    /// Answers the outstanding command.
    @discardableResult
    mutating func answer(_ body: EventBody, after seconds: Double = 1) -> [SagaCommand] {
        guard let command = outstanding else { return [] }
        now = now.adding(seconds: seconds)
        return deliver(.answer(to: command, at: now, body))
    }

    @discardableResult
    mutating func deliver(_ event: SagaEvent) -> [SagaCommand] {
        let (next, commands) = HostSaga.reduce(state, event)
        state = next
        issued += commands
        if let last = commands.last { outstanding = last } else if next.awaiting == nil { outstanding = nil }
        return commands
    }

    /// Answers commands with `responder` (falling back to "everything works")
    /// until the saga stops issuing them. Returns the commands issued.
    @discardableResult
    mutating func run(_ responder: (CommandBody, SagaHarness) -> EventBody? = { _, _ in nil }) -> [CommandBody] {
        var bodies: [CommandBody] = []
        var guardCount = 0
        while let command = outstanding, guardCount < 500 {
            guardCount += 1
            bodies.append(command.body)
            let body = responder(command.body, self) ?? happyAnswer(command.body)
            answer(body)
        }
        return bodies
    }

    /// The answer a healthy datacenter gives, applied to the harness's inventory
    /// so later observations see the moves.
    mutating func happyAnswer(_ command: CommandBody) -> EventBody {
        switch command {
        case .observeCluster(let ref): return .clusterObserved(inventory.clusterSnapshot(of: ref.host))
        case .enterMaintenance(let ref):
            setStatus(ref.host, .maintenance)
            return .maintenanceEntered
        case .exitMaintenance(let ref):
            setStatus(ref.host, .up)
            return .maintenanceExited
        case .vmAction(let request):
            apply(request.vm, request.action)
            return .vmActionSucceeded(VMActionSucceeded(vm: request.vm, action: request.action))
        case .deployUpdates: return .updatesDeployed
        case .pollCompliance(let request):
            return .complianceReported(ComplianceReport(installed: request.updateIds, pending: [], failed: [], pendingReboot: false))
        case .rebootHost: return .rebootIssued
        case .waitForHost: return .hostAnswered
        case .checkHealth: return .healthReported(HealthReport(healthy: true, detail: "Up"))
        case .failbackVM(let request):
            moveVM(request.vm, to: request.home)
            return .failbackFinished(FailbackOutcome(vm: request.vm, result: .movedHome, detail: "moved"))
        case .wakeAt(let wake):
            now = max(now, wake.at)
            return .timerFired
        }
    }

    mutating func setStatus(_ host: String, _ status: HostStatus) {
        if let index = inventory.hosts.firstIndex(where: { $0.name == host }) { inventory.hosts[index].status = status }
    }

    mutating func moveVM(_ vm: String, to host: String) {
        if let index = inventory.vms.firstIndex(where: { $0.name == vm }) { inventory.vms[index].host = host }
    }

    mutating func apply(_ vm: String, _ action: VMAction) {
        guard let index = inventory.vms.firstIndex(where: { $0.name == vm }) else { return }
        switch action.kind {
        case .liveMigrate, .quickMigrate, .moveStopped: inventory.vms[index].host = action.target ?? inventory.vms[index].host
        case .saveState: inventory.vms[index].power = .saved
        case .shutDown: inventory.vms[index].power = .stopped
        case .start: inventory.vms[index].power = .running
        }
    }

    var outcome: HostOutcome.Kind? { state.outcome?.kind }
    func notes(about vm: String) -> [String] { state.notes.filter { $0.vm == vm }.map(\.message) }
}

extension CommandBody {
    var vmActionRequest: VMActionRequest? {
        if case .vmAction(let request) = self { return request }
        return nil
    }
}
