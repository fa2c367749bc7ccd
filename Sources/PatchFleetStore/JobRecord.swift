import PatchFleetCore

/// Where a job stands, as the coordinator records it.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case accepted, running, paused, cancelling, finished, rejected

    /// `finished` and `rejected` are final: the store refuses to change them,
    /// so a job's outcome, once written, is the outcome.
    public var isTerminal: Bool { self == .finished || self == .rejected }
}

/// A job as stored: the spec it was submitted with plus its lifecycle.
public struct JobRecord: Sendable, Hashable {
    public var spec: JobSpec
    public var state: JobState
    public var submittedAt: Instant
    /// When `state` last changed (equals `submittedAt` until then).
    public var updatedAt: Instant
    /// The per-host outcome; present exactly when `state == .finished`.
    public var report: JobReport?
    /// Why the job was rejected or cancelled, in words a person can act on.
    public var reason: String?
    /// The message id of the submission that created the job: the job's
    /// inbox entry. The same message again (a redelivery, a republish) is
    /// the same submission; another message with this job id is not.
    /// Nil for jobs stored before it was recorded.
    public var submissionMessageId: String?

    public var id: String { spec.id }

    public init(spec: JobSpec, state: JobState = .accepted, submittedAt: Instant,
                updatedAt: Instant? = nil, report: JobReport? = nil, reason: String? = nil,
                submissionMessageId: String? = nil) {
        self.spec = spec
        self.state = state
        self.submittedAt = submittedAt
        self.updatedAt = updatedAt ?? submittedAt
        self.report = report
        self.reason = reason
        self.submissionMessageId = submissionMessageId
    }
}
