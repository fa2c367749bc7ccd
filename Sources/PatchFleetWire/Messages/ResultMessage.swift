import PatchFleetCore

/// The task a result answers, repeated in the result so it can be checked
/// (and routed, and logged) without the coordinator's state.
public struct TaskReference: Codable, Sendable, Hashable {
    /// The task message's id: also the result's causation id.
    public var messageId: String
    public var jobId: String
    public var host: String
    public var cluster: String?
    public var kind: CommandKind
    public var step: String
    public var idempotencyKey: String

    public init(messageId: String, command: SagaCommand) {
        self.messageId = messageId
        self.jobId = command.jobId
        self.host = command.host
        self.cluster = command.cluster
        self.kind = command.body.kind
        self.step = command.body.stepName
        self.idempotencyKey = command.idempotencyKey
    }
}

/// A saga event answering a task (results exchange, to the coordinator).
/// The coordinator's own timers are results too: a `timerFired` answering a
/// `wakeAt`, sent through a delay queue.
public struct ResultMessage: WireMessage {
    public static let schema = MessageSchema.result
    public static let requiredHeaders: Set<EnvelopeField> = [
        .correlationId, .causationId, .jobId, .host, .step, .sagaVersion, .attempt, .idempotencyKey, .traceparent,
    ]

    public var event: SagaEvent
    public var task: TaskReference

    public init(event: SagaEvent, task: TaskReference) {
        self.event = event
        self.task = task
    }

    /// The answer `event` to the task `command` sent as message `taskMessageId`.
    public init(answering command: SagaCommand, taskMessageId: String, at now: Instant, _ body: EventBody) {
        self.init(event: .answer(to: command, at: now, body), task: TaskReference(messageId: taskMessageId, command: command))
    }

    public var envelopeFacts: EnvelopeFacts {
        EnvelopeFacts(jobId: task.jobId, correlationId: event.sagaId, causationId: task.messageId, host: task.host,
                      cluster: task.cluster, step: task.step, sagaVersion: event.sagaVersion,
                      idempotencyKey: task.idempotencyKey)
    }

    public func validate() throws(WireError) {
        try FieldCheck.nonEmpty(event.sagaId, "event.sagaId")
        try FieldCheck.finite(event.now, "event.now")
        try FieldCheck.nonEmpty(task.messageId, "task.messageId")
        try FieldCheck.nonEmpty(task.jobId, "task.jobId")
        try FieldCheck.nonEmpty(task.host, "task.host")
        // Control events (start, cancel, ...) are never answers; a result
        // without the issuing version could not be told from a stale one.
        guard let version = event.sagaVersion else { throw .missingField(path: "event.sagaVersion") }
        try FieldCheck.nonNegative(version, "event.sagaVersion")
        guard event.body.answers(task.kind) else {
            throw .invalidField(path: "event.kind",
                                reason: "is \(event.body.kind.rawValue), which does not answer a \(task.kind.rawValue) task")
        }
    }
}
