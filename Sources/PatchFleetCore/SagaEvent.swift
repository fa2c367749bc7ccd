public enum EventKind: String, Codable, Sendable, CaseIterable {
    // Control: from the scheduler or the job's submitter, not answers to commands.
    case start, skip, cancel, pause, resume
    // Answers to commands.
    case clusterObserved, maintenanceEntered, vmActionSucceeded, vmActionFailed, updatesDeployed
    case complianceReported, rebootIssued, hostAnswered, hostNotBack, maintenanceExited, healthReported
    case failbackFinished, timerFired, commandFailed
}

public struct ReasonPayload: Codable, Sendable, Hashable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}

public struct VMActionSucceeded: Codable, Sendable, Hashable {
    public var vm: String
    public var action: VMAction
    /// Set when the worker found nothing to do because the VM was already
    /// gone from the host (deleted or moved by someone else): the goal holds,
    /// but the saga must not record a move it did not make.
    public var observed: String?
    public init(vm: String, action: VMAction, observed: String? = nil) {
        self.vm = vm
        self.action = action
        self.observed = observed
    }
}

public struct VMActionFailed: Codable, Sendable, Hashable {
    public var vm: String
    public var action: VMAction
    public var error: BackendError
    public init(vm: String, action: VMAction, error: BackendError) {
        self.vm = vm
        self.action = action
        self.error = error
    }
}

/// One look at a host after its restart found it not back yet (`waitForHost`
/// is a look, answered at once; the saga looks again on a timer).
public struct HostNotBack: Codable, Sendable, Hashable {
    /// What the look found. Sent only to sagas that ask for it
    /// (`WaitForHostRequest.wantsReading`); absent from older workers.
    public enum Reading: String, Codable, Sendable, Hashable {
        /// The manager reports the host restarting or down.
        case down
        /// Up in the manager's view, not answering.
        case notResponding
        /// Answering, but its update client (WinRM, the ConfigMgr client)
        /// not yet: starting up, or a passing network error. Not proof the
        /// host went down.
        case updateClientSilent
        /// Answering, its restart still pending: it has not gone down yet
        /// (`Restart-Computer` and `shutdown /r` return at once), or it came
        /// back needing another restart.
        case restartPending
    }
    public var detail: String
    public var reading: Reading?
    public init(detail: String, reading: Reading? = nil) {
        self.detail = detail
        self.reading = reading
    }

    // The readings as the worker and its simulator twin word them (both
    // answer alike, `CommandExecutorTests`).

    public static func down(_ host: String, _ status: HostStatus) -> HostNotBack {
        HostNotBack(detail: "host '\(host)' is \(status.rawValue)", reading: .down)
    }

    public static func notResponding(_ host: String, _ status: HostStatus) -> HostNotBack {
        HostNotBack(detail: "host '\(host)' is \(status.rawValue) but not responding", reading: .notResponding)
    }

    public static func updateClientSilent(_ host: String, _ status: HostStatus, _ error: BackendError) -> HostNotBack {
        HostNotBack(detail: "host '\(host)' is \(status.rawValue), but its update client does not answer yet: \(error.message)",
                    reading: .updateClientSilent)
    }

    public static func restartPending(_ host: String) -> HostNotBack {
        HostNotBack(detail: "host '\(host)' answers and still reports a restart pending", reading: .restartPending)
    }

    /// An update client's error that means "not answering yet" (still
    /// starting, or a passing network error), not a failed look.
    public static func isUpdateClientSilence(_ error: BackendError) -> Bool {
        error.code == .unreachable || error.code == .timeout
    }
}

public struct HealthReport: Codable, Sendable, Hashable {
    public var healthy: Bool
    public var detail: String
    public init(healthy: Bool, detail: String) {
        self.healthy = healthy
        self.detail = detail
    }
}

/// What a failback found and did.
public struct FailbackOutcome: Codable, Sendable, Hashable {
    public enum Result: String, Codable, Sendable, CaseIterable {
        case movedHome, alreadyHome, deleted, movedByOthers, noCapacity, failed
    }
    public var vm: String
    public var result: Result
    public var detail: String
    public init(vm: String, result: Result, detail: String) {
        self.vm = vm
        self.result = result
        self.detail = detail
    }
}

public struct CommandFailure: Codable, Sendable, Hashable {
    public var step: CommandKind
    public var error: BackendError
    public init(step: CommandKind, error: BackendError) {
        self.step = step
        self.error = error
    }
}

public struct EmptyPayload: Codable, Sendable, Hashable {
    public init() {}
}

/// What happened. Encoded with a `kind` discriminator like `CommandBody`.
public enum EventBody: Sendable, Hashable {
    case start
    case skip(ReasonPayload)
    case cancel
    case pause
    case resume
    case clusterObserved(ClusterSnapshot)
    case maintenanceEntered
    case vmActionSucceeded(VMActionSucceeded)
    case vmActionFailed(VMActionFailed)
    case updatesDeployed
    case complianceReported(ComplianceReport)
    case rebootIssued
    case hostAnswered
    case hostNotBack(HostNotBack)
    case maintenanceExited
    case healthReported(HealthReport)
    case failbackFinished(FailbackOutcome)
    case timerFired
    case commandFailed(CommandFailure)

    public var kind: EventKind {
        switch self {
        case .start: .start
        case .skip: .skip
        case .cancel: .cancel
        case .pause: .pause
        case .resume: .resume
        case .clusterObserved: .clusterObserved
        case .maintenanceEntered: .maintenanceEntered
        case .vmActionSucceeded: .vmActionSucceeded
        case .vmActionFailed: .vmActionFailed
        case .updatesDeployed: .updatesDeployed
        case .complianceReported: .complianceReported
        case .rebootIssued: .rebootIssued
        case .hostAnswered: .hostAnswered
        case .hostNotBack: .hostNotBack
        case .maintenanceExited: .maintenanceExited
        case .healthReported: .healthReported
        case .failbackFinished: .failbackFinished
        case .timerFired: .timerFired
        case .commandFailed: .commandFailed
        }
    }

    /// Control events are not answers: they carry no saga version.
    public var isControl: Bool {
        switch kind {
        case .start, .skip, .cancel, .pause, .resume: true
        default: false
        }
    }

    /// Whether this event can be the answer to a command of the given kind;
    /// anything else is stale or misrouted and changes nothing.
    public func answers(_ command: CommandKind) -> Bool {
        switch self {
        case .commandFailed(let failure): failure.step == command
        case .clusterObserved: command == .observeCluster
        case .maintenanceEntered: command == .enterMaintenance
        case .vmActionSucceeded, .vmActionFailed: command == .vmAction
        case .updatesDeployed: command == .deployUpdates
        case .complianceReported: command == .pollCompliance
        case .rebootIssued: command == .rebootHost
        case .hostAnswered, .hostNotBack: command == .waitForHost
        case .maintenanceExited: command == .exitMaintenance
        case .healthReported: command == .checkHealth
        case .failbackFinished: command == .failbackVM
        case .timerFired: command == .wakeAt
        case .start, .skip, .cancel, .pause, .resume: false
        }
    }
}

extension EventBody: Codable {
    public init(from decoder: Decoder) throws {
        let kind = try decoder.container(keyedBy: KindCodingKey.self).decode(EventKind.self, forKey: .kind)
        switch kind {
        case .start: self = .start
        case .skip: self = .skip(try ReasonPayload(from: decoder))
        case .cancel: self = .cancel
        case .pause: self = .pause
        case .resume: self = .resume
        case .clusterObserved: self = .clusterObserved(try ClusterSnapshot(from: decoder))
        case .maintenanceEntered: self = .maintenanceEntered
        case .vmActionSucceeded: self = .vmActionSucceeded(try VMActionSucceeded(from: decoder))
        case .vmActionFailed: self = .vmActionFailed(try VMActionFailed(from: decoder))
        case .updatesDeployed: self = .updatesDeployed
        case .complianceReported: self = .complianceReported(try ComplianceReport(from: decoder))
        case .rebootIssued: self = .rebootIssued
        case .hostAnswered: self = .hostAnswered
        case .hostNotBack: self = .hostNotBack(try HostNotBack(from: decoder))
        case .maintenanceExited: self = .maintenanceExited
        case .healthReported: self = .healthReported(try HealthReport(from: decoder))
        case .failbackFinished: self = .failbackFinished(try FailbackOutcome(from: decoder))
        case .timerFired: self = .timerFired
        case .commandFailed: self = .commandFailed(try CommandFailure(from: decoder))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: KindCodingKey.self)
        try container.encode(kind, forKey: .kind)
        switch self {
        case .start, .cancel, .pause, .resume, .maintenanceEntered, .updatesDeployed, .rebootIssued,
             .hostAnswered, .maintenanceExited, .timerFired:
            break
        case .skip(let p): try p.encode(to: encoder)
        case .clusterObserved(let p): try p.encode(to: encoder)
        case .vmActionSucceeded(let p): try p.encode(to: encoder)
        case .vmActionFailed(let p): try p.encode(to: encoder)
        case .complianceReported(let p): try p.encode(to: encoder)
        case .hostNotBack(let p): try p.encode(to: encoder)
        case .healthReported(let p): try p.encode(to: encoder)
        case .failbackFinished(let p): try p.encode(to: encoder)
        case .commandFailed(let p): try p.encode(to: encoder)
        }
    }
}

/// An event addressed to one saga. `now` is when it happened: the reducer's
/// only notion of time.
public struct SagaEvent: Codable, Sendable, Hashable {
    public var sagaId: String
    /// The version of the command this answers; nil for control events.
    public var sagaVersion: Int?
    public var now: Instant
    public var body: EventBody

    public init(sagaId: String, sagaVersion: Int?, now: Instant, body: EventBody) {
        self.sagaId = sagaId
        self.sagaVersion = sagaVersion
        self.now = now
        self.body = body
    }

    /// The answer to `command`, carrying its saga version back.
    public static func answer(to command: SagaCommand, at now: Instant, _ body: EventBody) -> SagaEvent {
        SagaEvent(sagaId: command.sagaId, sagaVersion: command.sagaVersion, now: now, body: body)
    }

    public static func control(_ sagaId: String, at now: Instant, _ body: EventBody) -> SagaEvent {
        SagaEvent(sagaId: sagaId, sagaVersion: nil, now: now, body: body)
    }
}
