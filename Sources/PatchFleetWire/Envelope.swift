import PatchFleetCore

/// What every PatchFleet message says about itself, outside its body: who it
/// is (message id), which host saga it belongs to (correlation id), what
/// caused it, where it stands in the saga, until when it matters, and which
/// trace it is part of. It travels in AMQP properties and `x-pf-*` headers
/// (see `EnvelopeHeader`) so brokers, dashboards and dead-letter inspection
/// can read it without parsing the body.
public struct Envelope: Sendable, Equatable {
    public var schema: SchemaID
    /// Unique per message; the coordinator's inbox dedupes by it.
    public var messageId: String
    /// The host saga (`<job>:<host>`) the message belongs to.
    public var correlationId: String?
    /// The message id of the message that caused this one (a result names its task).
    public var causationId: String?
    public var jobId: String
    public var cluster: String?
    public var host: String?
    /// The saga step (`CommandBody.stepName`), e.g. `deployUpdates`, `vmAction-liveMigrate-vm7`.
    public var step: String?
    /// The saga version that issued the task; results carry it back so stale answers are dropped.
    public var sagaVersion: Int?
    /// 1 for the first delivery of this step's work; bumped by retries (not by redeliveries).
    public var attempt: Int
    /// `saga:step:generation`: a redelivered task keeps it, a retry gets a new one.
    public var idempotencyKey: String?
    /// After this instant the work is pointless (the saga has timed out on it).
    public var deadline: Instant?
    /// Not to be acted on before this instant: set on delayed messages so a
    /// receiver can tell a message that came back early (a delay longer than
    /// the largest bucket) and delay it again.
    public var notBefore: Instant?
    public var traceparent: Traceparent?
    /// When the message was sent, in whole seconds since the epoch (AMQP's resolution).
    public var timestamp: UInt64?
    /// Where a submitter wants the answer to a submission sent. The coordinator
    /// answers only a rejection (the `job.rejected` event, with `correlation_id`
    /// = the submission's message id); acceptance is the `job.<id>.accepted` event.
    public var replyTo: String?

    public init(schema: SchemaID, messageId: String, correlationId: String? = nil, causationId: String? = nil,
                jobId: String, cluster: String? = nil, host: String? = nil, step: String? = nil,
                sagaVersion: Int? = nil, attempt: Int = 1, idempotencyKey: String? = nil,
                deadline: Instant? = nil, notBefore: Instant? = nil, traceparent: Traceparent? = nil,
                timestamp: UInt64? = nil, replyTo: String? = nil) {
        self.schema = schema
        self.messageId = messageId
        self.correlationId = correlationId
        self.causationId = causationId
        self.jobId = jobId
        self.cluster = cluster
        self.host = host
        self.step = step
        self.sagaVersion = sagaVersion
        self.attempt = attempt
        self.idempotencyKey = idempotencyKey
        self.deadline = deadline
        self.notBefore = notBefore
        self.traceparent = traceparent
        self.timestamp = timestamp
        self.replyTo = replyTo
    }
}

/// The envelope values a decoder may insist on (beyond the message id and
/// schema, which every message needs).
public enum EnvelopeField: String, Sendable, CaseIterable {
    case correlationId, causationId, jobId, cluster, host, step, sagaVersion, attempt, idempotencyKey
    case deadline, traceparent

    /// Where the value travels, for error messages and documentation.
    public var wireName: String {
        switch self {
        case .correlationId: "property correlation_id"
        case .causationId: EnvelopeHeader.causationId
        case .jobId: EnvelopeHeader.jobId
        case .cluster: EnvelopeHeader.cluster
        case .host: EnvelopeHeader.host
        case .step: EnvelopeHeader.step
        case .sagaVersion: EnvelopeHeader.sagaVersion
        case .attempt: EnvelopeHeader.attempt
        case .idempotencyKey: EnvelopeHeader.idempotencyKey
        case .deadline: EnvelopeHeader.deadline
        case .traceparent: EnvelopeHeader.traceparent
        }
    }
}

/// What a message's body says about the values the envelope also carries.
/// Headers mirror the body for routing and inspection; the decoder fills an
/// absent header from the body (when the schema allows it) and refuses a
/// header that contradicts the body.
public struct EnvelopeFacts: Sendable, Equatable {
    public var schema: SchemaID?
    public var jobId: String?
    public var correlationId: String?
    public var causationId: String?
    public var host: String?
    public var cluster: String?
    public var step: String?
    public var sagaVersion: Int?
    public var idempotencyKey: String?

    public init(schema: SchemaID? = nil, jobId: String? = nil, correlationId: String? = nil, causationId: String? = nil,
                host: String? = nil, cluster: String? = nil, step: String? = nil, sagaVersion: Int? = nil,
                idempotencyKey: String? = nil) {
        self.schema = schema
        self.jobId = jobId
        self.correlationId = correlationId
        self.causationId = causationId
        self.host = host
        self.cluster = cluster
        self.step = step
        self.sagaVersion = sagaVersion
        self.idempotencyKey = idempotencyKey
    }
}

extension Envelope {
    /// How long the message should still wait, if it came back from a delay
    /// queue early (a delay longer than the largest bucket): send it through
    /// `FleetTopology.delayed` again for this long. Nil when it is due.
    public func remainingDelay(at now: Instant) -> Double? {
        guard let notBefore else { return nil }
        let remaining = notBefore.seconds(since: now)
        return remaining > 0 ? remaining : nil
    }
}
