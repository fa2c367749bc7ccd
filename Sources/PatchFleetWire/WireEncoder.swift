import AMQP
import Foundation
import PatchFleetCore

/// Builds the AMQP message for a body and its envelope.
public enum WireEncoder {
    /// Refuses to produce what `WireDecoder` would refuse (an invalid body, a
    /// header that contradicts it, a missing required header): a bad message
    /// fails here, at its sender, not in some consumer's dead-letter queue.
    public static func encode<M: WireMessage>(_ message: M, envelope: Envelope) throws(WireError) -> AMQPMessage {
        guard envelope.schema.schema == M.schema else {
            throw .encodingFailed("envelope says \(envelope.schema.schema.rawValue) but the body is \(M.schema.rawValue)")
        }
        try message.validate()
        let body: Data
        do { body = try WireCoding.encode(SchemaTagged(message: message, version: envelope.schema.version)) } catch {
            throw .encodingFailed("\(error)")
        }
        let properties = envelope.amqpProperties
        var facts = message.envelopeFacts
        facts.schema = envelope.schema
        _ = try Envelope(properties: properties, requiring: M.requiredHeaders, body: facts)
        return AMQPMessage(body: body, properties: properties)
    }

    /// Encodes with an envelope derived from the body (see `WireMessage.envelope`).
    public static func encode<M: WireMessage>(_ message: M, messageId: String = UUID().uuidString,
                                              causationId: String? = nil, deadline: Instant? = nil,
                                              traceparent: Traceparent? = .random()) throws(WireError) -> AMQPMessage {
        try encode(message, envelope: message.envelope(messageId: messageId, causationId: causationId, deadline: deadline,
                                                       traceparent: traceparent,
                                                       timestamp: UInt64(max(0, Date().timeIntervalSince1970))))
    }
}
