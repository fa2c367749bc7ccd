import PatchFleetCore

/// Where a job stands, as told to the outside world.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case accepted, running, paused, cancelling, succeeded, failed, cancelled
}

public struct JobStateChange: Codable, Sendable, Hashable {
    public var jobId: String
    public var state: JobState
    public var reason: String?
    public init(jobId: String, state: JobState, reason: String? = nil) {
        self.jobId = jobId
        self.state = state
        self.reason = reason
    }
}

public struct HostStateChange: Codable, Sendable, Hashable {
    public var jobId: String
    public var host: String
    /// Nil for a standalone host.
    public var cluster: String?
    public var phase: SagaPhase
    /// Set once the phase is `done`.
    public var outcome: HostOutcome?
    public var reason: String?
    public init(jobId: String, host: String, cluster: String?, phase: SagaPhase, outcome: HostOutcome? = nil,
                reason: String? = nil) {
        self.jobId = jobId
        self.host = host
        self.cluster = cluster
        self.phase = phase
        self.outcome = outcome
        self.reason = reason
    }

    /// The routing key's state word: the phase, or once done, how it ended
    /// (`patched`, `held`, ...), which is what subscribers filter on.
    public var stateWord: String {
        if phase == .done, let outcome { return outcome.kind.rawValue }
        return phase.rawValue
    }
}

/// A submission the coordinator refused: every problem, and the submission's
/// message id so the submitter can match the answer to its request.
public struct JobRejection: Codable, Sendable, Hashable {
    /// Nil when the submission was too broken to name its job.
    public var jobId: String?
    public var submissionMessageId: String
    public var problems: [ValidationProblem]
    public init(jobId: String?, submissionMessageId: String, problems: [ValidationProblem]) {
        self.jobId = jobId
        self.submissionMessageId = submissionMessageId
        self.problems = problems
    }
}

/// What happened, for dashboards, the CMDB, ticketing and `patchfleet watch`.
/// Encoded with a `kind` discriminator next to the payload's fields.
public enum FleetEventBody: Sendable, Hashable {
    case job(JobStateChange)
    case host(HostStateChange)
    case jobRejected(JobRejection)

    public enum Kind: String, Codable, Sendable, CaseIterable {
        case job = "job.state"
        case host = "host.state"
        case jobRejected = "job.rejected"
    }

    public var kind: Kind {
        switch self {
        case .job: .job
        case .host: .host
        case .jobRejected: .jobRejected
        }
    }
}

extension FleetEventBody: Codable {
    private enum CodingKeys: String, CodingKey { case kind }

    public init(from decoder: Decoder) throws {
        switch try decoder.container(keyedBy: CodingKeys.self).decode(Kind.self, forKey: .kind) {
        case .job: self = .job(try JobStateChange(from: decoder))
        case .host: self = .host(try HostStateChange(from: decoder))
        case .jobRejected: self = .jobRejected(try JobRejection(from: decoder))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        switch self {
        case .job(let p): try p.encode(to: encoder)
        case .host(let p): try p.encode(to: encoder)
        case .jobRejected(let p): try p.encode(to: encoder)
        }
    }
}

/// An event on the events exchange (topic), routed by `routingKey`.
public struct FleetEvent: WireMessage {
    public static let schema = MessageSchema.event
    public static let requiredHeaders: Set<EnvelopeField> = [.jobId, .traceparent]

    public var at: Instant
    public var event: FleetEventBody

    public init(at: Instant, _ event: FleetEventBody) {
        self.at = at
        self.event = event
    }

    public var envelopeFacts: EnvelopeFacts {
        switch event {
        case .job(let change): EnvelopeFacts(jobId: change.jobId)
        case .host(let change):
            EnvelopeFacts(jobId: change.jobId, correlationId: "\(change.jobId):\(change.host)", host: change.host,
                          cluster: change.cluster)
        case .jobRejected(let rejection): EnvelopeFacts(jobId: rejection.jobId ?? RoutingKey.absent)
        }
    }

    /// `job.<id>.<state>`, `job.<id>.rejected` or `host.<cluster>.<host>.<state>`,
    /// each name a single sanitized word (see `RoutingKey.word`).
    public var routingKey: String {
        switch event {
        case .job(let change): RoutingKey.join(["job", RoutingKey.word(change.jobId), change.state.rawValue])
        case .host(let change):
            RoutingKey.join(["host", RoutingKey.word(change.cluster), RoutingKey.word(change.host), change.stateWord])
        case .jobRejected(let rejection): RoutingKey.join(["job", RoutingKey.word(rejection.jobId), "rejected"])
        }
    }

    public func validate() throws(WireError) {
        try FieldCheck.finite(at, "at")
        switch event {
        case .job(let change): try FieldCheck.nonEmpty(change.jobId, "event.jobId")
        case .host(let change):
            try FieldCheck.nonEmpty(change.jobId, "event.jobId")
            try FieldCheck.nonEmpty(change.host, "event.host")
        case .jobRejected(let rejection):
            try FieldCheck.nonEmpty(rejection.submissionMessageId, "event.submissionMessageId")
        }
    }
}
