import Foundation
import PatchFleetCore

/// A message to publish, written in the same transaction as the state change
/// that caused it; a dispatcher publishes it (with confirms) and then marks it.
public struct OutboxMessage: Codable, Sendable, Hashable {
    /// Unique across the outbox; becomes the AMQP message id, so a message
    /// published twice (dispatcher crashed before marking it) is recognisable
    /// as the same message by its consumer's inbox.
    public var id: String
    public var exchange: String
    public var routingKey: String
    public var headers: [String: String]
    public var body: Data
    public var createdAt: Instant
    /// Do not publish before this instant (delayed sends); nil means now.
    public var notBefore: Instant?

    public init(id: String, exchange: String, routingKey: String, headers: [String: String] = [:],
                body: Data, createdAt: Instant, notBefore: Instant? = nil) {
        self.id = id
        self.exchange = exchange
        self.routingKey = routingKey
        self.headers = headers
        self.body = body
        self.createdAt = createdAt
        self.notBefore = notBefore
    }

    /// Whether a dispatcher may publish it at `now`.
    public func isReady(at now: Instant) -> Bool {
        notBefore.map { $0 <= now } ?? true
    }
}
