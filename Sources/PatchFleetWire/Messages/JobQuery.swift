import PatchFleetCore

/// A read-only question to the coordinator: one job's hosts (`jobId`), or
/// the newest jobs (`jobId` nil). Sent to the query exchange with `reply_to`
/// (and answered there with a `JobStatusReply` whose `correlation_id` is
/// the query's message id). Queries have their own exchange so a broker
/// user allowed to ask is not thereby allowed to submit.
public struct JobQuery: WireMessage {
    public static let schema = MessageSchema.jobQuery
    public static let requiredHeaders: Set<EnvelopeField> = []

    public var jobId: String?
    /// For the job list: how many, newest first.
    public var limit: Int?
    /// With `jobId`: also send the job's run report (`patchfleet report`).
    public var report: Bool?

    public init(jobId: String? = nil, limit: Int? = nil, report: Bool? = nil) {
        self.jobId = jobId
        self.limit = limit
        self.report = report
    }

    public var envelopeFacts: EnvelopeFacts { EnvelopeFacts(jobId: jobId) }

    public func validate() throws(WireError) {
        if let jobId { try FieldCheck.nonEmpty(jobId, "jobId") }
        if let limit, !(1...1000).contains(limit) {
            throw .invalidField(path: "limit", reason: "must be between 1 and 1000, found \(limit)")
        }
    }
}

/// One job as the coordinator's store has it.
public struct JobSummary: Codable, Sendable, Hashable {
    public var id: String
    /// The store's state: running, paused, cancelling, finished.
    public var state: String
    public var submittedAt: Instant
    public var reason: String?
    /// Hosts by outcome (`patched`, `held`, ...), once the job has finished.
    public var outcomes: [String: Int]?

    public init(id: String, state: String, submittedAt: Instant, reason: String? = nil, outcomes: [String: Int]? = nil) {
        self.id = id
        self.state = state
        self.submittedAt = submittedAt
        self.reason = reason
        self.outcomes = outcomes
    }
}

/// The coordinator's answer to a `JobQuery`.
public struct JobStatusReply: WireMessage {
    public static let schema = MessageSchema.jobStatus
    public static let requiredHeaders: Set<EnvelopeField> = []

    /// The most an answer carries, and what the CLI reads one up to: RabbitMQ
    /// 4's default `max_message_size` (3.x allows 128 MiB). A run report of
    /// some thousand hosts or more is larger; the coordinator then answers
    /// without it and says where to read it (the 1 MiB every other message
    /// is held to was a failure for reports of a hundred hosts).
    public static let maximumBytes = 16 << 20

    public var jobs: [JobSummary]
    /// For a one-job query: every host of the job, as its last event said.
    public var hosts: [HostStateChange]
    /// Why the query could not be answered (e.g. no such job).
    public var problem: String?
    /// Asked for with `JobQuery.report`: the job's run report, the JSON of
    /// `PatchFleetReport.RunReport` (docs/report.md), which the wire carries as is.
    public var report: EmbeddedJSONObject?

    public init(jobs: [JobSummary], hosts: [HostStateChange] = [], problem: String? = nil, report: EmbeddedJSONObject? = nil) {
        self.jobs = jobs
        self.hosts = hosts
        self.problem = problem
        self.report = report
    }

    public var envelopeFacts: EnvelopeFacts { EnvelopeFacts(jobId: jobs.count == 1 ? jobs[0].id : nil) }

    /// The hosts are checked as on a `host.state` event (docs/schemas/job-status.schema.json
    /// says they are the same): named, of a named job, a cluster named if any.
    public func validate() throws(WireError) {
        for (index, job) in jobs.enumerated() { try FieldCheck.nonEmpty(job.id, "jobs[\(index)].id") }
        for (index, host) in hosts.enumerated() {
            try FieldCheck.nonEmpty(host.jobId, "hosts[\(index)].jobId")
            try FieldCheck.nonEmpty(host.host, "hosts[\(index)].host")
            if let cluster = host.cluster { try FieldCheck.nonEmpty(cluster, "hosts[\(index)].cluster") }
        }
    }
}
