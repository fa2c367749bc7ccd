import PatchFleetCore

/// Named apart from PatchFleetCore's `JobControl` (the scheduler's switches),
/// which it flips: see `apply(to:)`.
///
/// Cancel, pause or resume a job (routing keys `job.cancel`, `job.pause`,
/// `job.resume` on the control exchange). Like submissions, sent by people
/// and other systems, so the body carries everything.
public struct JobControlRequest: WireMessage {
    public static let schema = MessageSchema.jobControl
    public static let requiredHeaders: Set<EnvelopeField> = []

    public enum Action: String, Codable, Sendable, CaseIterable {
        case cancel, pause, resume
        /// The control exchange's routing key for this action.
        public var routingKey: String { "job.\(rawValue)" }
    }

    public var jobId: String
    public var action: Action
    public var reason: String?
    public var requestedBy: String?

    public init(jobId: String, action: Action, reason: String? = nil, requestedBy: String? = nil) {
        self.jobId = jobId
        self.action = action
        self.reason = reason
        self.requestedBy = requestedBy
    }

    public var envelopeFacts: EnvelopeFacts { EnvelopeFacts(jobId: jobId) }

    /// The scheduler's switches after this request.
    public func apply(to control: inout JobControl) {
        switch action {
        case .cancel: control.cancelled = true
        case .pause: control.paused = true
        case .resume: control.paused = false
        }
    }

    public func validate() throws(WireError) {
        try FieldCheck.nonEmpty(jobId, "jobId")
    }
}
