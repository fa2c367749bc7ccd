/// A VM-level action the drain, restart or failback asks a worker to perform.
public struct VMAction: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case liveMigrate, quickMigrate, moveStopped, saveState, shutDown, start

        /// Takes the VM to another host (as opposed to changing its power).
        public var movesTheVM: Bool { self == .liveMigrate || self == .quickMigrate || self == .moveStopped }
    }
    public var kind: Kind
    /// Destination host for migrations and moves.
    public var target: String?

    public init(_ kind: Kind, to target: String? = nil) {
        self.kind = kind
        self.target = target
    }
}

/// Stable step names: they appear in idempotency keys, queues and reports.
public enum CommandKind: String, Codable, Sendable, CaseIterable {
    case observeCluster, enterMaintenance, vmAction, deployUpdates, pollCompliance
    case rebootHost, waitForHost, exitMaintenance, checkHealth, failbackVM, wakeAt
}

public struct HostRef: Codable, Sendable, Hashable {
    public var host: String
    public init(host: String) { self.host = host }
}

/// Maintenance is asked for twice. First, before the drain (`drained`
/// false): real managers then only cordon a host that still runs VMs
/// (VMM: not available for placement; Failover Clustering: node paused),
/// because their maintenance mode would save or move the VMs by its own
/// rules. Second, once the saga has verified the host empty (`drained`
/// true): the real maintenance mode, which the worker confirms by reading
/// the host back before answering.
public struct MaintenanceRequest: Codable, Sendable, Hashable {
    public var host: String
    public var drained: Bool

    public init(host: String, drained: Bool = false) {
        self.host = host
        self.drained = drained
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        host = try container.decode(String.self, forKey: .host)
        drained = try container.decodeIfPresent(Bool.self, forKey: .drained) ?? false
    }
}

public struct VMActionRequest: Codable, Sendable, Hashable {
    public var host: String
    public var vm: String
    /// For migrations and moves, `action.target` is the planned destination.
    /// The worker re-checks it against live state and, if it is no longer in
    /// service or has no room, picks the in-service node with the most free
    /// memory (keeping `headroomPercent`); the answer names the real target.
    public var action: VMAction
    public var timeoutSeconds: Double
    public var headroomPercent: Int
    public init(host: String, vm: String, action: VMAction, timeoutSeconds: Double, headroomPercent: Int = 0) {
        self.host = host
        self.vm = vm
        self.action = action
        self.timeoutSeconds = timeoutSeconds
        self.headroomPercent = headroomPercent
    }
}

public struct DeployRequest: Codable, Sendable, Hashable {
    public var host: String
    public var collection: String
    public var updateIds: [String]
    public init(host: String, collection: String, updateIds: [String]) {
        self.host = host
        self.collection = collection
        self.updateIds = updateIds
    }
}

public struct ComplianceRequest: Codable, Sendable, Hashable {
    public var host: String
    public var updateIds: [String]
    public init(host: String, updateIds: [String]) {
        self.host = host
        self.updateIds = updateIds
    }
}

/// Is the host back from its restart? One look, answered at once
/// (`hostAnswered` or `hostNotBack`): a worker never waits out a reboot in a
/// task slot; the saga looks again on a delayed timer until its reboot
/// deadline. `timeoutSeconds` is the policy's reboot timeout, for messages.
public struct WaitForHostRequest: Codable, Sendable, Hashable {
    public var host: String
    public var timeoutSeconds: Double
    /// The saga tells a host still going down from one back: a worker
    /// answers `hostNotBack` with its `reading` (an answering host with its
    /// restart pending included). Absent (an older coordinator): the host
    /// answering is `hostAnswered`, as it was.
    public var wantsReading: Bool?
    public init(host: String, timeoutSeconds: Double, wantsReading: Bool? = true) {
        self.host = host
        self.timeoutSeconds = timeoutSeconds
        self.wantsReading = wantsReading
    }

    /// The answer to this request for one look (nil: back, answering, no
    /// restart pending), as the saga that sent it understands answers.
    public func answer(_ look: HostNotBack?) -> EventBody {
        guard wantsReading == true else {
            // An older coordinator's saga: an answering host is back, as it was.
            guard let look, look.reading != .restartPending else { return .hostAnswered }
            return .hostNotBack(HostNotBack(detail: look.detail))
        }
        return look.map(EventBody.hostNotBack) ?? .hostAnswered
    }
}

/// Move a VM back to its recorded host (Rule 3). The worker observes first:
/// a VM that is gone, or no longer where we put it, is reported, not moved.
public struct FailbackRequest: Codable, Sendable, Hashable {
    public var vm: String
    /// Where the drain put it; anywhere else means someone else moved it.
    public var expectedHost: String
    public var home: String
    public var timeoutSeconds: Double
    public init(vm: String, expectedHost: String, home: String, timeoutSeconds: Double) {
        self.vm = vm
        self.expectedHost = expectedHost
        self.home = home
        self.timeoutSeconds = timeoutSeconds
    }
}

/// Ask the coordinator's timer (a TTL queue in production) to answer later.
public struct WakeRequest: Codable, Sendable, Hashable {
    public var at: Instant
    public var purpose: String
    public init(at: Instant, purpose: String) {
        self.at = at
        self.purpose = purpose
    }
}

/// What a saga asks the outside world to do. Encoded with a `kind`
/// discriminator next to the payload's fields: `{"kind":"rebootHost","host":"h1"}`.
public enum CommandBody: Sendable, Hashable {
    case observeCluster(HostRef)
    case enterMaintenance(MaintenanceRequest)
    case vmAction(VMActionRequest)
    case deployUpdates(DeployRequest)
    case pollCompliance(ComplianceRequest)
    case rebootHost(HostRef)
    case waitForHost(WaitForHostRequest)
    case exitMaintenance(HostRef)
    case checkHealth(HostRef)
    case failbackVM(FailbackRequest)
    case wakeAt(WakeRequest)

    public var kind: CommandKind {
        switch self {
        case .observeCluster: .observeCluster
        case .enterMaintenance: .enterMaintenance
        case .vmAction: .vmAction
        case .deployUpdates: .deployUpdates
        case .pollCompliance: .pollCompliance
        case .rebootHost: .rebootHost
        case .waitForHost: .waitForHost
        case .exitMaintenance: .exitMaintenance
        case .checkHealth: .checkHealth
        case .failbackVM: .failbackVM
        case .wakeAt: .wakeAt
        }
    }

    /// The step's own time limit, which the worker enforces; the saga-level
    /// timeout adds `taskTimeoutSeconds` on top of it.
    public var ownTimeoutSeconds: Double {
        switch self {
        case .vmAction(let request): request.timeoutSeconds
        case .failbackVM(let request): request.timeoutSeconds
        default: 0
        }
    }

    /// The step name used in the idempotency key; VM steps name the VM so two
    /// VMs' actions never share a key.
    public var stepName: String {
        switch self {
        case .vmAction(let request): "vmAction-\(request.action.kind.rawValue)-\(request.vm)"
        case .failbackVM(let request): "failbackVM-\(request.vm)"
        default: kind.rawValue
        }
    }
}

extension CommandBody: Codable {
    public init(from decoder: Decoder) throws {
        let kind = try decoder.container(keyedBy: KindCodingKey.self).decode(CommandKind.self, forKey: .kind)
        switch kind {
        case .observeCluster: self = .observeCluster(try HostRef(from: decoder))
        case .enterMaintenance: self = .enterMaintenance(try MaintenanceRequest(from: decoder))
        case .vmAction: self = .vmAction(try VMActionRequest(from: decoder))
        case .deployUpdates: self = .deployUpdates(try DeployRequest(from: decoder))
        case .pollCompliance: self = .pollCompliance(try ComplianceRequest(from: decoder))
        case .rebootHost: self = .rebootHost(try HostRef(from: decoder))
        case .waitForHost: self = .waitForHost(try WaitForHostRequest(from: decoder))
        case .exitMaintenance: self = .exitMaintenance(try HostRef(from: decoder))
        case .checkHealth: self = .checkHealth(try HostRef(from: decoder))
        case .failbackVM: self = .failbackVM(try FailbackRequest(from: decoder))
        case .wakeAt: self = .wakeAt(try WakeRequest(from: decoder))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: KindCodingKey.self)
        try container.encode(kind, forKey: .kind)
        switch self {
        case .observeCluster(let p), .rebootHost(let p), .exitMaintenance(let p), .checkHealth(let p):
            try p.encode(to: encoder)
        case .enterMaintenance(let p): try p.encode(to: encoder)
        case .vmAction(let p): try p.encode(to: encoder)
        case .deployUpdates(let p): try p.encode(to: encoder)
        case .pollCompliance(let p): try p.encode(to: encoder)
        case .waitForHost(let p): try p.encode(to: encoder)
        case .failbackVM(let p): try p.encode(to: encoder)
        case .wakeAt(let p): try p.encode(to: encoder)
        }
    }
}

/// A command as it leaves the saga: addressed, versioned and keyed.
public struct SagaCommand: Codable, Sendable, Hashable {
    public var sagaId: String
    public var jobId: String
    public var host: String
    public var cluster: String?
    /// The saga version that issued it; the answering event must carry it back.
    public var sagaVersion: Int
    /// `sagaId:step:generation`, where generation is the issuing saga version:
    /// a redelivered command keeps its key, a retry gets a new one.
    public var idempotencyKey: String
    public var issuedAt: Instant
    public var body: CommandBody

    public init(sagaId: String, jobId: String, host: String, cluster: String?, sagaVersion: Int,
                issuedAt: Instant, body: CommandBody) {
        self.sagaId = sagaId
        self.jobId = jobId
        self.host = host
        self.cluster = cluster
        self.sagaVersion = sagaVersion
        self.idempotencyKey = "\(sagaId):\(body.stepName):\(sagaVersion)"
        self.issuedAt = issuedAt
        self.body = body
    }
}
