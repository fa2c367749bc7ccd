/// Header names. `x-pf-` marks PatchFleet's own; `traceparent` keeps its W3C
/// name so generic tracing tools find it.
public enum EnvelopeHeader {
    public static let schemaVersion = "x-pf-schema-version"
    /// For clients that cannot set the `message_id` property (Debian's
    /// `amqp-publish` can only set headers): read when the property is absent.
    public static let messageId = "x-pf-message-id"
    public static let causationId = "x-pf-causation-id"
    public static let jobId = "x-pf-job-id"
    public static let cluster = "x-pf-cluster"
    public static let host = "x-pf-host"
    public static let step = "x-pf-step"
    public static let sagaVersion = "x-pf-saga-version"
    public static let attempt = "x-pf-attempt"
    public static let idempotencyKey = "x-pf-idempotency-key"
    /// Seconds since the epoch as a double (a string, seconds or ISO 8601, is also read).
    public static let deadline = "x-pf-deadline"
    public static let notBefore = "x-pf-not-before"
    public static let traceparent = "traceparent"
    /// Routing of the delay exchange (headers exchange): which bucket, and
    /// which exchange the message returns to. See `FleetTopology`.
    public static let delayBucket = "x-pf-delay-bucket"
    public static let delayTarget = "x-pf-delay-target"
}
