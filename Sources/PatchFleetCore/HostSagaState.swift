/// Where a host's saga stands. `done` is terminal; `outcome` says how it ended.
public enum SagaPhase: String, Codable, Sendable, CaseIterable {
    case pending, prechecking, enteringMaintenance, draining, deploying, polling, rebooting, waitingForHost
    case retryWait, exitingMaintenance, checkingHealth, restartingVMs, rebalancing, done
}

/// How a host ended. Every outcome but `patched` carries a reason.
public struct HostOutcome: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case patched, skipped, held, failed, cancelled
    }
    public var kind: Kind
    public var reason: String?
    /// True when the host was left in a maintenance PatchFleet started (held for a person).
    public var inMaintenance: Bool
    /// Counts toward `maxFailedHosts` (policy holds such as Rule 1 do not).
    public var countsAsFailure: Bool

    public init(kind: Kind, reason: String?, inMaintenance: Bool = false, countsAsFailure: Bool = false) {
        self.kind = kind
        self.reason = reason
        self.inMaintenance = inMaintenance
        self.countsAsFailure = countsAsFailure
    }
}

/// One line of a host's report, optionally about a VM. Every VM PatchFleet
/// could not bring back to how it found it gets one: nothing goes unreported.
public struct SagaNote: Codable, Sendable, Hashable {
    public var vm: String?
    public var message: String
    public init(vm: String? = nil, message: String) {
        self.vm = vm
        self.message = message
    }
}

/// A VM the drain moved away from its recorded host.
public struct MovedVM: Codable, Sendable, Hashable {
    public var vm: String
    public var home: String
    public var movedTo: String
    public var wasRunning: Bool
}

/// A VM the drain saved or shut down on the host; started again afterwards.
public struct TurnedOffVM: Codable, Sendable, Hashable {
    public var vm: String
    public var method: DrainMethod
}

/// Why the saga is on its way back to service.
public enum ResumeMode: String, Codable, Sendable {
    /// Patched: resume, restart, fail back.
    case normal
    /// Failed after retries and the policy says resume: back in service unpatched.
    case afterFailure
    /// The drain could not finish (or the job was cancelled during it): exit
    /// maintenance, restart what we turned off, leave moved VMs where they are safe.
    case compensation
}

/// Everything one host's saga knows. A plain value: persisted as JSON by the
/// saga store, replayed by tests, advanced only by `HostSaga.reduce`.
///
/// Its fields live in one copy-on-write box: a state is copied wherever the
/// engine caches, the store returns and the scheduler groups sagas, and a
/// copy of some fifty inline fields (the policy among them) cost a retain
/// and a release per reference field each time (an eighth of the `scale`
/// bench's CPU); a copy of the box is one. Mutation copies the box first
/// when it is shared, so values never alias. The JSON is `Fields`' own:
/// the same keys and bytes as before the box.
public struct HostSagaState: Codable, Sendable, Hashable {
    /// The stored form, field for field.
    struct Fields: Codable, Hashable, Sendable {
        let sagaId: String
        let jobId: String
        let host: String
        let cluster: String?
        let policy: Policy
        let updateIds: [String]
        let deploymentCollection: String

        var version: Int = 0
        var phase: SagaPhase = .pending
        var awaiting: CommandKind?
        var awaitingDeadline: Instant?
        var awaitingSince: Instant?
        var withheld: CommandBody?
        var paused: Bool = false
        var cancelRequested: Bool = false
        var startedAt: Instant?
        var finishedAt: Instant?
        var returnedAt: Instant?

        var preexistingMaintenance: Bool = false
        var maintenanceRequested: Bool = false
        var enteredMaintenance: Bool = false
        var inMaintenance: Bool = false

        var placement: [RecordedPlacement] = []
        var drainItems: [DrainItem] = []
        var drainDeadline: Instant?
        var keptOnHost: [String] = []
        var drainPasses: Int = 0
        var drainVerified: Bool = false
        var moved: [MovedVM] = []
        var turnedOff: [TurnedOffVM] = []
        var restartQueue: [String] = []
        var failbackQueue: [MovedVM] = []

        var installDeadline: Instant?
        var rebootDeadline: Instant?
        var reboots: Int = 0
        var retries: Int = 0
        var retryCommand: CommandBody?
        var retryPhase: SagaPhase?
        var resumeMode: ResumeMode = .normal
        var resumeReason: String?
        var lastError: String?

        var outcome: HostOutcome?
        var notes: [SagaNote] = []

        // Report facts. Optional so sagas stored before they existed still
        // decode (as nil: "not recorded", which the report says, never guesses).
        var timeline: [SagaTimelineEntry]? = []
        var installedUpdates: [String]?
        var returnedHome: [MovedVM]? = []
        /// Times the precheck handed the host back to the waiting list
        /// (nil: never, or a saga stored before this was counted).
        var waitingReturns: Int?
        /// Whether the host was seen not back (down, restarting, not
        /// responding) since the last restart was issued (nil: a saga from
        /// before this was recorded).
        var downSinceReboot: Bool?
    }

    /// Shared between copies until one of them mutates (see `makeUnique`).
    final class Box: @unchecked Sendable {
        // Written only through `makeUnique()`: a box is mutated only while
        // exactly one state holds it, which is what makes it Sendable.
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
    }

    init(fields: Fields) { box = Box(fields) }

    public init(from decoder: Decoder) throws {
        box = Box(try Fields(from: decoder))
    }

    public func encode(to encoder: Encoder) throws {
        try box.fields.encode(to: encoder)
    }

    public static func == (lhs: HostSagaState, rhs: HostSagaState) -> Bool {
        lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
    }

    public func hash(into hasher: inout Hasher) {
        box.fields.hash(into: &hasher)
    }

    public var sagaId: String { box.fields.sagaId }
    public var jobId: String { box.fields.jobId }
    public var host: String { box.fields.host }
    public var cluster: String? { box.fields.cluster }
    public var policy: Policy { box.fields.policy }
    public var updateIds: [String] { box.fields.updateIds }
    public var deploymentCollection: String { box.fields.deploymentCollection }

    /// Bumped every time the saga issues a command; answers must carry it.
    public internal(set) var version: Int {
        get { box.fields.version }
        _modify { makeUnique(); yield &box.fields.version }
    }
    public internal(set) var phase: SagaPhase {
        get { box.fields.phase }
        _modify { makeUnique(); yield &box.fields.phase }
    }
    /// The kind of the one outstanding command, if any.
    public internal(set) var awaiting: CommandKind? {
        get { box.fields.awaiting }
        _modify { makeUnique(); yield &box.fields.awaiting }
    }
    /// When the outstanding command counts as unanswered (saga-level
    /// timeout); nil for the coordinator's own timers.
    public internal(set) var awaitingDeadline: Instant? {
        get { box.fields.awaitingDeadline }
        _modify { makeUnique(); yield &box.fields.awaitingDeadline }
    }
    public internal(set) var awaitingSince: Instant? {
        get { box.fields.awaitingSince }
        _modify { makeUnique(); yield &box.fields.awaitingSince }
    }
    /// The next command, held back while the job is paused.
    public internal(set) var withheld: CommandBody? {
        get { box.fields.withheld }
        _modify { makeUnique(); yield &box.fields.withheld }
    }
    public internal(set) var paused: Bool {
        get { box.fields.paused }
        _modify { makeUnique(); yield &box.fields.paused }
    }
    public internal(set) var cancelRequested: Bool {
        get { box.fields.cancelRequested }
        _modify { makeUnique(); yield &box.fields.cancelRequested }
    }
    public internal(set) var startedAt: Instant? {
        get { box.fields.startedAt }
        _modify { makeUnique(); yield &box.fields.startedAt }
    }
    public internal(set) var finishedAt: Instant? {
        get { box.fields.finishedAt }
        _modify { makeUnique(); yield &box.fields.finishedAt }
    }
    /// Back in service: maintenance exited and the health check passed.
    /// From here the host no longer counts against the cluster's
    /// unavailability (restarts and failback run on a host in service), and
    /// the settle delay runs from this moment.
    public internal(set) var returnedAt: Instant? {
        get { box.fields.returnedAt }
        _modify { makeUnique(); yield &box.fields.returnedAt }
    }

    /// The host was in maintenance (or paused) before the job: never ended by us.
    public internal(set) var preexistingMaintenance: Bool {
        get { box.fields.preexistingMaintenance }
        _modify { makeUnique(); yield &box.fields.preexistingMaintenance }
    }
    /// PatchFleet asked for maintenance at least once. From then on the host
    /// may be in our maintenance even without an answer saying so (a lost
    /// answer), so walking away means taking it back, never just leaving.
    public internal(set) var maintenanceRequested: Bool {
        get { box.fields.maintenanceRequested }
        _modify { makeUnique(); yield &box.fields.maintenanceRequested }
    }
    /// PatchFleet put the host in maintenance (so it may, and must, end it).
    public internal(set) var enteredMaintenance: Bool {
        get { box.fields.enteredMaintenance }
        _modify { makeUnique(); yield &box.fields.enteredMaintenance }
    }
    public internal(set) var inMaintenance: Bool {
        get { box.fields.inMaintenance }
        _modify { makeUnique(); yield &box.fields.inMaintenance }
    }

    /// Rule 3: where every VM was before the drain.
    public internal(set) var placement: [RecordedPlacement] {
        get { box.fields.placement }
        _modify { makeUnique(); yield &box.fields.placement }
    }
    /// Remaining drain work; the first item is in progress.
    public internal(set) var drainItems: [DrainItem] {
        get { box.fields.drainItems }
        _modify { makeUnique(); yield &box.fields.drainItems }
    }
    public internal(set) var drainDeadline: Instant? {
        get { box.fields.drainDeadline }
        _modify { makeUnique(); yield &box.fields.drainDeadline }
    }
    /// VMs deliberately left on the host (Rule 2 leave, or a stopped VM that could not move).
    public internal(set) var keptOnHost: [String] {
        get { box.fields.keptOnHost }
        _modify { makeUnique(); yield &box.fields.keptOnHost }
    }
    /// Times the drain re-observed the host and found VMs that arrived after the precheck.
    public internal(set) var drainPasses: Int {
        get { box.fields.drainPasses }
        _modify { makeUnique(); yield &box.fields.drainPasses }
    }
    /// The drain's last observation found the host empty; the next answer
    /// to `enterMaintenance` is the real maintenance mode, then the deploy.
    public internal(set) var drainVerified: Bool {
        get { box.fields.drainVerified }
        _modify { makeUnique(); yield &box.fields.drainVerified }
    }
    public internal(set) var moved: [MovedVM] {
        get { box.fields.moved }
        _modify { makeUnique(); yield &box.fields.moved }
    }
    public internal(set) var turnedOff: [TurnedOffVM] {
        get { box.fields.turnedOff }
        _modify { makeUnique(); yield &box.fields.turnedOff }
    }
    public internal(set) var restartQueue: [String] {
        get { box.fields.restartQueue }
        _modify { makeUnique(); yield &box.fields.restartQueue }
    }
    public internal(set) var failbackQueue: [MovedVM] {
        get { box.fields.failbackQueue }
        _modify { makeUnique(); yield &box.fields.failbackQueue }
    }

    public internal(set) var installDeadline: Instant? {
        get { box.fields.installDeadline }
        _modify { makeUnique(); yield &box.fields.installDeadline }
    }
    /// Until when the saga keeps looking for a host coming back from its
    /// restart (`rebootTimeoutSeconds` after the reboot was issued, or after
    /// a retry of the wait began).
    public internal(set) var rebootDeadline: Instant? {
        get { box.fields.rebootDeadline }
        _modify { makeUnique(); yield &box.fields.rebootDeadline }
    }
    public internal(set) var reboots: Int {
        get { box.fields.reboots }
        _modify { makeUnique(); yield &box.fields.reboots }
    }
    public internal(set) var retries: Int {
        get { box.fields.retries }
        _modify { makeUnique(); yield &box.fields.retries }
    }
    public internal(set) var retryCommand: CommandBody? {
        get { box.fields.retryCommand }
        _modify { makeUnique(); yield &box.fields.retryCommand }
    }
    public internal(set) var retryPhase: SagaPhase? {
        get { box.fields.retryPhase }
        _modify { makeUnique(); yield &box.fields.retryPhase }
    }
    public internal(set) var resumeMode: ResumeMode {
        get { box.fields.resumeMode }
        _modify { makeUnique(); yield &box.fields.resumeMode }
    }
    public internal(set) var resumeReason: String? {
        get { box.fields.resumeReason }
        _modify { makeUnique(); yield &box.fields.resumeReason }
    }
    public internal(set) var lastError: String? {
        get { box.fields.lastError }
        _modify { makeUnique(); yield &box.fields.lastError }
    }

    public internal(set) var outcome: HostOutcome? {
        get { box.fields.outcome }
        _modify { makeUnique(); yield &box.fields.outcome }
    }
    public internal(set) var notes: [SagaNote] {
        get { box.fields.notes }
        _modify { makeUnique(); yield &box.fields.notes }
    }

    // Report facts (nil: not recorded, see `Fields`).
    /// Every phase change and step, in order (see `SagaTimelineEntry`).
    public internal(set) var timeline: [SagaTimelineEntry]? {
        get { box.fields.timeline }
        _modify { makeUnique(); yield &box.fields.timeline }
    }
    /// The deployed updates, once the patch manager reported them all installed.
    public internal(set) var installedUpdates: [String]? {
        get { box.fields.installedUpdates }
        _modify { makeUnique(); yield &box.fields.installedUpdates }
    }
    /// Whether the host was seen down or not responding since the last
    /// restart was issued: only then does "still pending a restart" mean the
    /// restart happened and another one is wanted.
    public internal(set) var downSinceReboot: Bool? {
        get { box.fields.downSinceReboot }
        _modify { makeUnique(); yield &box.fields.downSinceReboot }
    }
    /// Times the precheck found the cluster at its unavailability limit and
    /// handed the host back to the waiting list.
    public internal(set) var waitingReturns: Int? {
        get { box.fields.waitingReturns }
        _modify { makeUnique(); yield &box.fields.waitingReturns }
    }
    /// VMs moved back to their recorded host (Rule 3), or found already there.
    public internal(set) var returnedHome: [MovedVM]? {
        get { box.fields.returnedHome }
        _modify { makeUnique(); yield &box.fields.returnedHome }
    }

    public init(jobId: String, target: TargetHost, policy: Policy, updateIds: [String], deploymentCollection: String) {
        box = Box(Fields(sagaId: "\(jobId):\(target.host)", jobId: jobId, host: target.host, cluster: target.cluster,
                         policy: policy, updateIds: updateIds, deploymentCollection: deploymentCollection))
    }

    public var isDone: Bool { phase == .done }
    public var isPending: Bool { phase == .pending }
    /// Started and not finished: holds one of its cluster's slots.
    public var isActive: Bool { phase != .pending && phase != .done }
    /// Was started by the scheduler at some point (a saga skipped before it
    /// ever started, at submission or by the scheduler, never was).
    public var hasStarted: Bool { !isPending && startedAt != nil }

    /// VMs this saga moved away and will still move home (Rule 3). Another
    /// host holding them must not be drained meanwhile, or two sagas would
    /// both call the VM theirs.
    public var vmsAwaitingFailback: [MovedVM] {
        guard !isDone, policy.failback == .original, resumeMode != .compensation else { return [] }
        return phase == .rebalancing ? failbackQueue : moved
    }

    /// Counts against `maxUnavailablePerCluster`: in flight until back in
    /// service (it may enter maintenance at any moment) or left in a
    /// maintenance we started.
    public var holdsClusterSlot: Bool { (isActive && returnedAt == nil) || inMaintenance }

    /// When the host came back into service, if it did: the health check's
    /// time, or (for a saga that ended without one) its end.
    public var backInServiceAt: Instant? {
        if let returnedAt { return returnedAt }
        return isDone && enteredMaintenance && !inMaintenance ? finishedAt : nil
    }
}
