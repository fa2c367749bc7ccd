import PatchFleetCore

/// When an operation's answer is due, and what it is. Effects that take time
/// (a migration, an install, a reboot) land in the model at their completion
/// time through its agenda, not when the call is made.
public struct Ticket<Value: Sendable>: Sendable {
    public var at: Instant
    public var result: Result<Value, BackendError>
}

/// The simulated datacenter's whole state and rules, as a plain value.
/// Every operation takes the current virtual time; `SimulatedDatacenter`
/// serializes access to it.
public struct DatacenterModel: Sendable {
    public internal(set) var inventory: Inventory
    public internal(set) var history: [HistoryRecord] = []
    public internal(set) var now: Instant
    public let durations: SimulatedDurations
    var rng: SeededGenerator
    /// Seed of the keyed draws (see `draw(_:)`).
    let drawSeed: UInt64
    var drawCounts: [String: Int] = [:]
    var faults: [ArmedFault]
    var agenda: [ScheduledChange] = []
    var nextAgendaSeq = 0
    var installed: [String: Set<String>] = [:]
    var failedInstalls: [String: [UpdateFailure]] = [:]
    var installing: Set<String> = []
    var pendingReboot: Set<String> = []
    var collections: [String: [String]]
    /// Memory held on a target by migrations and starts in flight.
    var reservedMB: [String: Int] = [:]
    /// VMs with a migration or move in flight: a real VMM locks them.
    var inTransit: Set<String> = []
    var rebootEnds: [String: Instant] = [:]
    var neverReturns: Set<String> = []

    public init(inventory: Inventory, faults: [Fault] = [], durations: SimulatedDurations = SimulatedDurations(),
                seed: UInt64, start: Instant) {
        self.inventory = inventory
        self.durations = durations
        self.rng = SeededGenerator(seed: seed)
        self.drawSeed = seed
        self.faults = faults.map(ArmedFault.init)
        self.now = start
        self.collections = Dictionary(inventory.collections.map { ($0.name, $0.members) }, uniquingKeysWith: { a, _ in a })
        for fault in faults where fault.kind == .vmMovedByOthers || fault.kind == .vmDeleted {
            schedule(at: start.adding(seconds: scaled(fault.atSeconds ?? 0)), .external(fault))
        }
    }

    // MARK: Time

    struct ScheduledChange: Sendable {
        var at: Instant
        var seq: Int
        var change: PendingChange
    }

    enum PendingChange: Sendable {
        case finishMigration(vm: String, from: String, to: String, method: String, reservedMB: Int)
        case finishPower(vm: String, to: PowerState, reservedMB: Int)
        case finishInstall(host: String, updateIds: [String], failure: UpdateFailure?)
        case finishReboot(host: String, returnTo: HostStatus)
        case external(Fault)
    }

    mutating func schedule(at: Instant, _ change: PendingChange) {
        agenda.append(ScheduledChange(at: at, seq: nextAgendaSeq, change: change))
        nextAgendaSeq += 1
    }

    /// Applies every scheduled change due by `instant`, in time order.
    public mutating func advance(to instant: Instant) {
        while let index = agenda.indices.min(by: { (agenda[$0].at, agenda[$0].seq) < (agenda[$1].at, agenda[$1].seq) }),
              agenda[index].at <= instant {
            let due = agenda.remove(at: index)
            now = max(now, due.at)
            apply(due.change)
        }
        now = max(now, instant)
    }

    /// When the next scheduled change lands, if any.
    public var nextChangeAt: Instant? { agenda.map(\.at).min() }

    func scaled(_ seconds: Double) -> Double { seconds * durations.timeScale }

    /// A generator for the next draw of `key` (e.g. "install:H1"): the n-th
    /// install of a host takes the same time however the run was scheduled,
    /// so two schedulers compared on one lab face the same durations.
    mutating func draw(_ key: String) -> SeededGenerator {
        let n = drawCounts[key, default: 0]
        drawCounts[key] = n + 1
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a, stable across processes
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        var generator = SeededGenerator(seed: drawSeed ^ hash ^ (UInt64(n) &* 0x9E37_79B9_7F4A_7C15))
        _ = generator.next()
        return generator
    }

    mutating func jittered(_ seconds: Double) -> Double {
        scaled(seconds * rng.double(0.8...1.2))
    }

    // MARK: Recording

    mutating func record(_ actor: HistoryActor, _ change: HistoryChange) {
        history.append(HistoryRecord(seq: history.count, at: now, actor: actor, change: change))
    }

    mutating func setStatus(_ host: String, _ status: HostStatus, by actor: HistoryActor) {
        guard let index = inventory.hosts.firstIndex(where: { $0.name == host }) else { return }
        let from = inventory.hosts[index].status
        guard from != status else { return }
        inventory.hosts[index].status = status
        record(actor, .hostStatus(host: host, from: from, to: status))
    }

    mutating func setPower(_ vm: String, _ power: PowerState, by actor: HistoryActor) {
        guard let index = inventory.vms.firstIndex(where: { $0.name == vm }) else { return }
        let from = inventory.vms[index].power
        guard from != power else { return }
        inventory.vms[index].power = power
        record(actor, .vmPower(vm: vm, host: inventory.vms[index].host, from: from, to: power))
    }

    // MARK: Queries

    public func freeMB(on host: String) -> Int {
        inventory.freeMemoryMB(on: host) - reservedMB[host, default: 0]
    }

    func isReachable(_ host: Host) -> Bool { host.status != .rebooting && host.status != .down }

    func extraDelay(for host: String?) -> Double {
        faults.filter { $0.fault.kind == .slowResponses && ($0.fault.host == nil || $0.fault.host == host) }
            .reduce(0) { $0 + scaled($1.fault.extraSeconds ?? 60) }
    }

    /// Consumes one matching timeout fault, if armed.
    mutating func takeTimeout(host: String?) -> Bool {
        takeFault(.backendTimeout) { $0.host == nil || $0.host == host }
    }

    mutating func takeFault(_ kind: Fault.Kind, where matches: (Fault) -> Bool) -> Bool {
        guard let index = faults.firstIndex(where: { $0.fault.kind == kind && $0.remaining > 0 && matches($0.fault) }) else {
            return false
        }
        faults[index].remaining -= 1
        return true
    }

    func hasFault(_ kind: Fault.Kind, host: String) -> Bool {
        faults.contains { $0.fault.kind == kind && $0.fault.host == host }
    }

    // MARK: Answers

    func answer<T>(_ value: T, after seconds: Double = 0, host: String?) -> Ticket<T> {
        Ticket(at: now.adding(seconds: scaled(durations.callLatencySeconds) + seconds + extraDelay(for: host)), result: .success(value))
    }

    func refuse<T>(_ error: BackendError, after seconds: Double = 0, host: String?) -> Ticket<T> {
        Ticket(at: now.adding(seconds: scaled(durations.callLatencySeconds) + seconds + extraDelay(for: host)), result: .failure(error))
    }

    func timedOut<T>(_ what: String, host: String?) -> Ticket<T> {
        let seconds = scaled(durations.timeoutSeconds)
        return Ticket(at: now.adding(seconds: seconds + extraDelay(for: host)),
                      result: .failure(BackendError(.timeout, "\(what): the operation timed out after \(Int(seconds)) seconds", backendCode: "0x800705B4")))
    }

    func missingHost<T>(_ host: String) -> Ticket<T> {
        refuse(BackendError(.notFound, "Unable to find a host named '\(host)'"), host: host)
    }

    func unreachable<T>(_ host: String) -> Ticket<T> {
        refuse(BackendError(.unreachable, "Host '\(host)' is not responding (WinRM: the client cannot connect)"), host: host)
    }
}
