import AMQP
import Foundation
import PatchFleetCore

/// The one way into PatchFleet for a message off the broker. It checks, in
/// this order, and stops at the first problem with a `WireError` naming it:
/// size, content type and encoding, JSON well-formedness, the body's schema name and version (and their
/// agreement with the `type` property and `x-pf-schema-version` header),
/// the body's fields, the body's own consistency, then the envelope headers
/// the schema requires and their agreement with the body.
///
/// A consumer that gets a `WireError` should dead-letter the message (it will
/// not get better by redelivery) with the error's text as the reason.
public struct WireDecoder: Sendable {
    public static let defaultMaxBodyBytes = 1 << 20

    /// Bodies above this are refused before parsing: a job is kilobytes, so a
    /// megabyte is a mistake or an attack, not a big fleet.
    public var maxBodyBytes: Int

    public init(maxBodyBytes: Int = WireDecoder.defaultMaxBodyBytes) {
        self.maxBodyBytes = maxBodyBytes
    }

    public func decode(body: Data, properties: AMQPProperties) throws(WireError) -> DecodedMessage {
        guard body.count <= maxBodyBytes else { throw .tooLarge(size: body.count, limit: maxBodyBytes) }
        guard !body.isEmpty else { throw .notJSON(detail: "the body is empty") }
        try Self.checkContent(properties)
        let schema = try Self.schema(of: body)
        switch schema.schema {
        case .jobSubmit:
            let (m, e) = try Self.read(JobSubmission.self, body, properties, schema)
            return .jobSubmission(m, e)
        case .jobControl:
            let (m, e) = try Self.read(JobControlRequest.self, body, properties, schema)
            return .jobControl(m, e)
        case .task:
            let (m, e) = try Self.read(TaskMessage.self, body, properties, schema)
            return .task(m, e)
        case .result:
            let (m, e) = try Self.read(ResultMessage.self, body, properties, schema)
            return .result(m, e)
        case .event:
            let (m, e) = try Self.read(FleetEvent.self, body, properties, schema)
            return .event(m, e)
        case .jobQuery:
            let (m, e) = try Self.read(JobQuery.self, body, properties, schema)
            return .jobQuery(m, e)
        case .jobStatus:
            let (m, e) = try Self.read(JobStatusReply.self, body, properties, schema)
            return .jobStatus(m, e)
        }
    }

    public func decode(_ message: AMQPMessage) throws(WireError) -> DecodedMessage {
        try decode(body: message.body, properties: message.properties)
    }

    public func decode(_ delivery: AMQPDelivery) throws(WireError) -> DecodedMessage {
        try decode(body: delivery.body, properties: delivery.properties)
    }

    /// With the default limits.
    public static func decode(body: Data, properties: AMQPProperties) throws(WireError) -> DecodedMessage {
        try WireDecoder().decode(body: body, properties: properties)
    }

    /// An absent content type is taken as JSON (some clients cannot set it);
    /// a different one, or any content encoding (gzip...), is not guessed at.
    private static func checkContent(_ properties: AMQPProperties) throws(WireError) {
        if let type = properties.contentType, !type.isEmpty {
            let mediaType = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard mediaType == "application/json" else {
                throw .invalidProperty(name: "content_type", reason: "is '\(type)'; PatchFleet reads application/json")
            }
        }
        if let encoding = properties.contentEncoding, !encoding.isEmpty, encoding.lowercased() != "identity" {
            throw .invalidProperty(name: "content_encoding", reason: "is '\(encoding)'; PatchFleet reads unencoded UTF-8 JSON")
        }
    }

    private static func schema(of body: Data) throws(WireError) -> SchemaID {
        let probe: SchemaProbe
        do { probe = try JSONDecoder().decode(SchemaProbe.self, from: body) } catch {
            throw DecodingErrorText.wireError(error)
        }
        guard let name = probe.schema else { throw .missingField(path: "schema") }
        guard let schema = MessageSchema(rawValue: name) else { throw .unknownSchema(name) }
        guard let version = probe.schemaVersion else { throw .missingField(path: "schemaVersion") }
        return try Envelope.supported(schema, version)
    }

    private static func read<M: WireMessage>(_ type: M.Type, _ body: Data, _ properties: AMQPProperties,
                                             _ schema: SchemaID) throws(WireError) -> (M, Envelope) {
        // The properties must not claim another schema before the body is
        // read as this one: a mismatch is the clearer error.
        _ = try Envelope.schema(properties, HeaderReader(properties), schema)
        let message: M
        do { message = try JSONDecoder().decode(M.self, from: body) } catch {
            throw DecodingErrorText.wireError(error)
        }
        try message.validate()
        var facts = message.envelopeFacts
        facts.schema = schema
        let envelope = try Envelope(properties: properties, requiring: M.requiredHeaders, body: facts)
        return (message, envelope)
    }
}
