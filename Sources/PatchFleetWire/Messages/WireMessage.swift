import PatchFleetCore

/// A message body PatchFleet puts on the wire. Bodies are JSON objects with
/// `schema` and `schemaVersion` next to the message's own fields, encoded
/// with `WireCoding` (sorted keys: identical messages are identical bytes).
public protocol WireMessage: Codable, Sendable, Equatable {
    static var schema: MessageSchema { get }
    /// Envelope values PatchFleet's senders must put in headers: a message
    /// that only PatchFleet sends is refused without them (it means a bug),
    /// while messages from other systems may leave them to the body.
    static var requiredHeaders: Set<EnvelopeField> { get }
    /// What the body says that the envelope also carries.
    var envelopeFacts: EnvelopeFacts { get }
    /// Checks that Codable cannot express (ids not empty, keys consistent).
    func validate() throws(WireError)
}

extension WireMessage {
    /// An envelope for this message, its addressing taken from the body
    /// (a result's causation id is the task it answers, unless given).
    public func envelope(messageId: String, causationId: String? = nil, attempt: Int = 1,
                         deadline: Instant? = nil, notBefore: Instant? = nil,
                         traceparent: Traceparent? = .random(), timestamp: UInt64? = nil,
                         replyTo: String? = nil) -> Envelope {
        let facts = envelopeFacts
        return Envelope(schema: SchemaID(Self.schema), messageId: messageId, correlationId: facts.correlationId,
                        causationId: causationId ?? facts.causationId, jobId: facts.jobId ?? "", cluster: facts.cluster, host: facts.host,
                        step: facts.step, sagaVersion: facts.sagaVersion, attempt: attempt,
                        idempotencyKey: facts.idempotencyKey, deadline: deadline, notBefore: notBefore,
                        traceparent: traceparent, timestamp: timestamp, replyTo: replyTo)
    }
}

/// Field checks shared by the messages' `validate()`.
enum FieldCheck {
    static func nonEmpty(_ value: String, _ path: String) throws(WireError) {
        if value.isEmpty { throw .invalidField(path: path, reason: "must not be empty") }
    }

    static func nonNegative(_ value: Int, _ path: String) throws(WireError) {
        if value < 0 { throw .invalidField(path: path, reason: "must not be negative, found \(value)") }
    }

    static func finite(_ value: Instant, _ path: String) throws(WireError) {
        if !value.secondsSinceEpoch.isFinite { throw .invalidField(path: path, reason: "is not a finite time") }
    }
}
