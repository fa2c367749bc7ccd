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
public struct HostSagaState: Codable, Sendable, Hashable {
    public let sagaId: String
    public let jobId: String
    public let host: String
    public let cluster: String?
    public let policy: Policy
    public let updateIds: [String]
    public let deploymentCollection: String

    /// Bumped every time the saga issues a command; answers must carry it.
    public internal(set) var version: Int = 0
    public internal(set) var phase: SagaPhase = .pending
    /// The kind of the one outstanding command, if any.
    public internal(set) var awaiting: CommandKind?
    /// When the outstanding command counts as unanswered (saga-level
    /// timeout); nil for the coordinator's own timers.
    public internal(set) var awaitingDeadline: Instant?
    public internal(set) var awaitingSince: Instant?
    /// The next command, held back while the job is paused.
    public internal(set) var withheld: CommandBody?
    public internal(set) var paused = false
    public internal(set) var cancelRequested = false
    public internal(set) var startedAt: Instant?
    public internal(set) var finishedAt: Instant?
    /// Back in service: maintenance exited and the health check passed.
    /// From here the host no longer counts against the cluster's
    /// unavailability (restarts and failback run on a host in service), and
    /// the settle delay runs from this moment.
    public internal(set) var returnedAt: Instant?

    /// The host was in maintenance (or paused) before the job: never ended by us.
    public internal(set) var preexistingMaintenance = false
    /// PatchFleet asked for maintenance at least once. From then on the host
    /// may be in our maintenance even without an answer saying so (a lost
    /// answer), so walking away means taking it back, never just leaving.
    public internal(set) var maintenanceRequested = false
    /// PatchFleet put the host in maintenance (so it may, and must, end it).
    public internal(set) var enteredMaintenance = false
    public internal(set) var inMaintenance = false

    /// Rule 3: where every VM was before the drain.
    public internal(set) var placement: [RecordedPlacement] = []
    /// Remaining drain work; the first item is in progress.
    public internal(set) var drainItems: [DrainItem] = []
    public internal(set) var drainDeadline: Instant?
    /// VMs deliberately left on the host (Rule 2 leave, or a stopped VM that could not move).
    public internal(set) var keptOnHost: [String] = []
    /// Times the drain re-observed the host and found VMs that arrived after the precheck.
    public internal(set) var drainPasses = 0
    /// The drain's last observation found the host empty; the next answer
    /// to `enterMaintenance` is the real maintenance mode, then the deploy.
    public internal(set) var drainVerified = false
    public internal(set) var moved: [MovedVM] = []
    public internal(set) var turnedOff: [TurnedOffVM] = []
    public internal(set) var restartQueue: [String] = []
    public internal(set) var failbackQueue: [MovedVM] = []

    public internal(set) var installDeadline: Instant?
    /// Until when the saga keeps looking for a host coming back from its
    /// restart (`rebootTimeoutSeconds` after the reboot was issued, or after
    /// a retry of the wait began).
    public internal(set) var rebootDeadline: Instant?
    public internal(set) var reboots = 0
    public internal(set) var retries = 0
    public internal(set) var retryCommand: CommandBody?
    public internal(set) var retryPhase: SagaPhase?
    public internal(set) var resumeMode: ResumeMode = .normal
    public internal(set) var resumeReason: String?
    public internal(set) var lastError: String?

    public internal(set) var outcome: HostOutcome?
    public internal(set) var notes: [SagaNote] = []

    // Report facts. Optional so sagas stored before they existed still
    // decode (as nil: "not recorded", which the report says, never guesses).
    /// Every phase change and step, in order (see `SagaTimelineEntry`).
    public internal(set) var timeline: [SagaTimelineEntry]? = []
    /// The deployed updates, once the patch manager reported them all installed.
    public internal(set) var installedUpdates: [String]?
    /// VMs moved back to their recorded host (Rule 3), or found already there.
    public internal(set) var returnedHome: [MovedVM]? = []

    public init(jobId: String, target: TargetHost, policy: Policy, updateIds: [String], deploymentCollection: String) {
        self.sagaId = "\(jobId):\(target.host)"
        self.jobId = jobId
        self.host = target.host
        self.cluster = target.cluster
        self.policy = policy
        self.updateIds = updateIds
        self.deploymentCollection = deploymentCollection
    }

    public var isDone: Bool { phase == .done }
    public var isPending: Bool { phase == .pending }
    /// Started and not finished: holds one of its cluster's slots.
    public var isActive: Bool { phase != .pending && phase != .done }

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
