import AMQP
import PatchFleetCore

extension Envelope {
    /// The AMQP properties that carry this envelope. Always JSON, always
    /// persistent: every PatchFleet message matters across a broker restart.
    public var amqpProperties: AMQPProperties {
        var headers = AMQPFieldTable()
        headers[EnvelopeHeader.schemaVersion] = .int64(Int64(schema.version))
        // Questions about every job belong to none: no job id header then.
        if !jobId.isEmpty || schema.schema.isJobScoped { headers[EnvelopeHeader.jobId] = .string(jobId) }
        if let causationId { headers[EnvelopeHeader.causationId] = .string(causationId) }
        if let cluster { headers[EnvelopeHeader.cluster] = .string(cluster) }
        if let host { headers[EnvelopeHeader.host] = .string(host) }
        if let step { headers[EnvelopeHeader.step] = .string(step) }
        if let sagaVersion { headers[EnvelopeHeader.sagaVersion] = .int64(Int64(sagaVersion)) }
        headers[EnvelopeHeader.attempt] = .int64(Int64(attempt))
        if let idempotencyKey { headers[EnvelopeHeader.idempotencyKey] = .string(idempotencyKey) }
        if let deadline { headers[EnvelopeHeader.deadline] = .double(deadline.secondsSinceEpoch) }
        if let notBefore { headers[EnvelopeHeader.notBefore] = .double(notBefore.secondsSinceEpoch) }
        if let traceparent { headers[EnvelopeHeader.traceparent] = .string(traceparent.description) }
        return AMQPProperties(
            contentType: "application/json", headers: headers, deliveryMode: .persistent,
            correlationId: correlationId, replyTo: replyTo, messageId: messageId, timestamp: timestamp,
            type: schema.schema.rawValue)
    }

    /// Reads an envelope from AMQP properties.
    ///
    /// - `required`: values that must be present in the properties themselves
    ///   (PatchFleet's own messages: tasks, results, events). Values not
    ///   required may be absent, and are then taken from the body's `facts`.
    /// - `facts`: what the body says; a header that contradicts it is refused.
    public init(properties: AMQPProperties, requiring required: Set<EnvelopeField> = [],
                body facts: EnvelopeFacts = EnvelopeFacts()) throws(WireError) {
        let reader = HeaderReader(properties)
        let schema = try Self.schema(properties, reader, facts.schema)

        let messageId: String
        if let id = properties.messageId, !id.isEmpty {
            messageId = id
        } else if let id = try reader.string(EnvelopeHeader.messageId) {
            messageId = id
        } else {
            throw .missingProperty("message_id (or header \(EnvelopeHeader.messageId))")
        }

        func pick<T: Equatable & CustomStringConvertible>(_ field: EnvelopeField, _ header: T?, _ body: T?) throws(WireError) -> T? {
            if header == nil, required.contains(field) {
                if field == .correlationId { throw .missingProperty("correlation_id") }
                throw .missingHeader(field.wireName)
            }
            if let header, let body, header != body {
                throw .mismatch(what: "\(field.wireName) and the body", expected: body.description, found: header.description)
            }
            return header ?? body
        }
        let correlation = properties.correlationId.flatMap { $0.isEmpty ? nil : $0 }
        let correlationId = try pick(.correlationId, correlation, facts.correlationId)
        let causationId = try pick(.causationId, try reader.string(EnvelopeHeader.causationId), facts.causationId)
        let jobId: String
        if let picked = try pick(.jobId, try reader.string(EnvelopeHeader.jobId), facts.jobId) {
            jobId = picked
        } else if !schema.schema.isJobScoped {
            jobId = ""
        } else {
            throw .missingHeader(EnvelopeHeader.jobId)
        }
        let cluster = try pick(.cluster, try reader.string(EnvelopeHeader.cluster), facts.cluster)
        let host = try pick(.host, try reader.string(EnvelopeHeader.host), facts.host)
        let step = try pick(.step, try reader.string(EnvelopeHeader.step), facts.step)
        let sagaVersion = try pick(.sagaVersion, try reader.int(EnvelopeHeader.sagaVersion), facts.sagaVersion)
        let attempt = try pick(.attempt, try reader.int(EnvelopeHeader.attempt), nil) ?? 1
        guard attempt >= 1 else { throw .invalidHeader(name: EnvelopeHeader.attempt, reason: "must be 1 or more, found \(attempt)") }
        if let sagaVersion, sagaVersion < 0 {
            throw .invalidHeader(name: EnvelopeHeader.sagaVersion, reason: "must not be negative, found \(sagaVersion)")
        }
        let idempotencyKey = try pick(.idempotencyKey, try reader.string(EnvelopeHeader.idempotencyKey), facts.idempotencyKey)
        let deadline = try reader.instant(EnvelopeHeader.deadline)
        if deadline == nil, required.contains(.deadline) { throw .missingHeader(EnvelopeHeader.deadline) }
        let traceText = try reader.string(EnvelopeHeader.traceparent)
        if traceText == nil, required.contains(.traceparent) { throw .missingHeader(EnvelopeHeader.traceparent) }

        self.init(schema: schema, messageId: messageId, correlationId: correlationId, causationId: causationId,
                  jobId: jobId, cluster: cluster, host: host, step: step, sagaVersion: sagaVersion, attempt: attempt,
                  idempotencyKey: idempotencyKey, deadline: deadline,
                  notBefore: try reader.instant(EnvelopeHeader.notBefore),
                  traceparent: try traceText.map { (text) throws(WireError) in try Traceparent(parsing: text) },
                  timestamp: properties.timestamp, replyTo: properties.replyTo.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The schema from `type` and `x-pf-schema-version`, which must agree with
    /// the body's when the body names one, and must be supported either way.
    static func schema(_ properties: AMQPProperties, _ reader: HeaderReader,
                               _ body: SchemaID?) throws(WireError) -> SchemaID {
        let type = properties.type.flatMap { $0.isEmpty ? nil : $0 }
        let version = try reader.int(EnvelopeHeader.schemaVersion)
        if let body {
            if let type, type != body.schema.rawValue {
                throw .mismatch(what: "property type and body field schema", expected: body.schema.rawValue, found: type)
            }
            if let version, version != body.version {
                throw .mismatch(what: "header \(EnvelopeHeader.schemaVersion) and body field schemaVersion",
                                expected: String(body.version), found: String(version))
            }
            return try supported(body.schema, body.version)
        }
        guard let type else { throw .missingProperty("type") }
        guard let schema = MessageSchema(rawValue: type) else { throw .unknownSchema(type) }
        guard let version else { throw .missingHeader(EnvelopeHeader.schemaVersion) }
        return try supported(schema, version)
    }

    static func supported(_ schema: MessageSchema, _ version: Int) throws(WireError) -> SchemaID {
        guard schema.supportedVersions.contains(version) else {
            throw .unsupportedVersion(schema: schema.rawValue, version: version, supported: schema.supportedVersions)
        }
        return SchemaID(schema, version: version)
    }
}
