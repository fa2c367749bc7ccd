import AMQP

extension FleetTopology {
    /// A copy of a message PatchFleet refuses (a `WireError`, or a step that
    /// failed for good), addressed to the dead exchange with the reason in
    /// words. `nack(requeue: false)` dead-letters too, but RabbitMQ's
    /// `x-death` can only say "rejected"; this says why. Publish it, wait for
    /// the confirm, then ack the original: at no point is the message nowhere.
    public func deadLetter(_ delivery: AMQPDelivery, queue: String, reason: String) -> AMQPConnection.Publication {
        var properties = delivery.properties
        var headers = properties.headers ?? AMQPFieldTable()
        // The copy must fit where the original did: the reason is cut (a
        // refusal may quote a header value whole), and headers that leave no
        // room for ours are dropped with a note of their size; the body, the
        // message itself, is always kept.
        if headers.approximateEncodedSize > DeadLetterHeader.carriedHeadersLimit {
            let size = headers.approximateEncodedSize
            headers = [DeadLetterHeader.headersDropped: .string("\(headers.count) header(s), about \(size) bytes: too large to carry with the reason")]
        }
        headers[DeadLetterHeader.reason] = .string(DeadLetterHeader.cut(reason))
        headers[DeadLetterHeader.queue] = .string(queue)
        headers[DeadLetterHeader.exchange] = .string(delivery.exchange)
        headers[DeadLetterHeader.routingKey] = .string(delivery.routingKey)
        properties.headers = headers
        // Keep the original routing key: the dead exchange is a fanout, and
        // the key tells a person where the message was going.
        return AMQPConnection.Publication(AMQPMessage(body: delivery.body, properties: properties),
                                          exchange: deadExchange, routingKey: delivery.routingKey, mandatory: true)
    }
}

/// Headers added by `FleetTopology.deadLetter`.
public enum DeadLetterHeader {
    public static let reason = "x-pf-dead-reason"
    public static let queue = "x-pf-dead-queue"
    public static let exchange = "x-pf-dead-exchange"
    public static let routingKey = "x-pf-dead-routing-key"
    /// Set instead of the original headers when those were too large to carry.
    public static let headersDropped = "x-pf-dead-headers-dropped"
    /// The longest reason carried, in characters.
    public static let reasonLimit = 2_000
    /// Original headers larger than this (encoded, about) are not carried.
    public static let carriedHeadersLimit = 64 * 1024

    static func cut(_ reason: String) -> String {
        guard reason.count > reasonLimit else { return reason }
        return String(reason.prefix(reasonLimit)) + "... (\(reason.count - reasonLimit) more characters)"
    }
}

extension AMQPConnection {
    /// Dead-letters `delivery` with its reason and settles it: the copy is
    /// published and confirmed first, then the original is acked, so the
    /// message is never nowhere. If the copy cannot be published, the
    /// original is rejected without requeue, so the queue's own
    /// dead-lettering (x-death "rejected") still keeps it. Returns whether the
    /// reasoned copy was published.
    @discardableResult
    public func deadLetter(_ delivery: AMQPDelivery, from queue: String, reason: String,
                           topology: FleetTopology) async -> Bool {
        let copy = topology.deadLetter(delivery, queue: queue, reason: reason)
        do {
            try await publish(copy.message, exchange: copy.exchange, routingKey: copy.routingKey, mandatory: copy.mandatory)
            delivery.ack()
            return true
        } catch {
            delivery.reject(requeue: false)
            return false
        }
    }
}
