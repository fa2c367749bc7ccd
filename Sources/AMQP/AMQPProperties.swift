import Foundation

/// The basic-class properties of a message (AMQP 0-9-1 "content header").
/// Every field is optional: an absent field is not sent.
public struct AMQPProperties: Sendable, Equatable {
    public enum DeliveryMode: UInt8, Sendable {
        case transient = 1
        /// Written to disk by the broker (and replicated, on quorum queues).
        case persistent = 2
    }

    public var contentType: String?
    public var contentEncoding: String?
    public var headers: AMQPFieldTable?
    public var deliveryMode: DeliveryMode?
    public var priority: UInt8?
    public var correlationId: String?
    public var replyTo: String?
    /// Per-message TTL in milliseconds, as a decimal string (the AMQP convention).
    public var expiration: String?
    public var messageId: String?
    /// Seconds since the Unix epoch.
    public var timestamp: UInt64?
    public var type: String?
    /// Checked by RabbitMQ against the connection's user: it cannot be forged.
    public var userId: String?
    public var appId: String?

    public init(contentType: String? = nil, contentEncoding: String? = nil, headers: AMQPFieldTable? = nil,
                deliveryMode: DeliveryMode? = nil, priority: UInt8? = nil, correlationId: String? = nil,
                replyTo: String? = nil, expiration: String? = nil, messageId: String? = nil,
                timestamp: UInt64? = nil, type: String? = nil, userId: String? = nil, appId: String? = nil) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.headers = headers
        self.deliveryMode = deliveryMode
        self.priority = priority
        self.correlationId = correlationId
        self.replyTo = replyTo
        self.expiration = expiration
        self.messageId = messageId
        self.timestamp = timestamp
        self.type = type
        self.userId = userId
        self.appId = appId
    }
}

/// A message to publish.
public struct AMQPMessage: Sendable, Equatable {
    public var body: Data
    public var properties: AMQPProperties

    public init(body: Data, properties: AMQPProperties = AMQPProperties()) {
        self.body = body
        self.properties = properties
    }

    public init(_ text: String, properties: AMQPProperties = AMQPProperties()) {
        self.init(body: Data(text.utf8), properties: properties)
    }
}
