import PatchFleetCore

/// A saga command on its way to a worker (tasks exchange, routing key = the
/// worker role; see `CommandRoute`).
public struct TaskMessage: WireMessage {
    public static let schema = MessageSchema.task
    /// Only PatchFleet sends tasks, and workers act on the headers' addressing
    /// (logging, tracing, dedupe) before the body: all of it must be there.
    public static let requiredHeaders: Set<EnvelopeField> = [
        .correlationId, .jobId, .host, .step, .sagaVersion, .attempt, .idempotencyKey, .traceparent,
    ]

    public var command: SagaCommand

    public init(_ command: SagaCommand) { self.command = command }

    public var envelopeFacts: EnvelopeFacts {
        EnvelopeFacts(jobId: command.jobId, correlationId: command.sagaId, host: command.host,
                      cluster: command.cluster, step: command.body.stepName, sagaVersion: command.sagaVersion,
                      idempotencyKey: command.idempotencyKey)
    }

    public func validate() throws(WireError) {
        try FieldCheck.nonEmpty(command.sagaId, "command.sagaId")
        try FieldCheck.nonEmpty(command.jobId, "command.jobId")
        try FieldCheck.nonEmpty(command.host, "command.host")
        try FieldCheck.nonNegative(command.sagaVersion, "command.sagaVersion")
        try FieldCheck.finite(command.issuedAt, "command.issuedAt")
        // The key is derived, so a body whose key does not match its own
        // fields was altered or built by hand: dedupe on it would be wrong.
        let expected = "\(command.sagaId):\(command.body.stepName):\(command.sagaVersion)"
        if command.idempotencyKey != expected {
            throw .invalidField(path: "command.idempotencyKey",
                                reason: "is '\(command.idempotencyKey)' but sagaId:step:sagaVersion is '\(expected)'")
        }
    }
}
