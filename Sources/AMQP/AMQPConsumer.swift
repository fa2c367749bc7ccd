import Foundation

/// The deliveries of one consumer, as an async sequence.
///
///     for try await delivery in consumer {
///         try await handle(delivery.body)
///         try await delivery.ack()
///     }
public struct AMQPConsumer: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery

    private let stream: AsyncThrowingStream<AMQPDelivery, Error>
    let id: Int
    public let tag: String
    let loop: ConnectionLoop
    let ledger: DeliveryLedger

    init(stream: AsyncThrowingStream<AMQPDelivery, Error>, id: Int, tag: String, loop: ConnectionLoop, ledger: DeliveryLedger) {
        self.stream = stream
        self.id = id
        self.tag = tag
        self.loop = loop
        self.ledger = ledger
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), ledger: ledger)
    }

    /// Hands out deliveries, skipping the ones the connection took back
    /// (unread at cancel, or from a channel lost to a reconnect).
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<AMQPDelivery, Error>.Iterator
        let ledger: DeliveryLedger

        public mutating func next() async throws -> AMQPDelivery? {
            while let delivery = try await base.next() {
                if ledger.claim(delivery) { return delivery }
            }
            return nil
        }
    }

    /// Stops new deliveries (basic.cancel) and ends the sequence. Deliveries
    /// already read can still be settled (the channel closes after the last);
    /// deliveries received but not yet read go back to the queue at once.
    public func cancel() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.enqueue(.cancelConsumer(id: id) { _ in continuation.resume() })
        }
    }
}

/// One message delivered to a consumer. Settle it exactly once.
public struct AMQPDelivery: Sendable {
    public let body: Data
    public let properties: AMQPProperties
    public let exchange: String
    public let routingKey: String
    /// The broker delivered it before (to this or another consumer) without an ack.
    public let redelivered: Bool
    public let deliveryTag: UInt64
    public let consumerTag: String
    let origin: DeliveryOrigin
    let loop: ConnectionLoop

    /// How many times a quorum queue delivered it before (`x-delivery-count`).
    public var deliveryCount: Int {
        Int(properties.headers?["x-delivery-count"]?.intValue ?? 0)
    }

    /// Acknowledges the delivery. Like `basic.ack` itself this does not wait
    /// for the broker (the protocol has no reply): the ack is queued on the
    /// connection thread and sent in order with everything else. If the
    /// connection drops first, the broker redelivers the message.
    public func ack() { settle(.ack) }

    /// Negative acknowledgement: `requeue: false` dead-letters the message (if
    /// the queue has a dead-letter exchange) or drops it.
    public func nack(requeue: Bool) { settle(.nack(requeue: requeue)) }

    /// Rejects the delivery; like `nack` for a single message.
    public func reject(requeue: Bool) { settle(.reject(requeue: requeue)) }

    /// Acknowledges and waits until the ack is written to the socket. Returns
    /// false if the delivery's channel is gone (after a reconnect): the broker
    /// has requeued it and will deliver it again.
    public func ackAndWait() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            loop.enqueue(.settle(origin, tag: deliveryTag, .ack) { result in
                continuation.resume(returning: (try? result.get()) ?? false)
            })
        }
    }

    private func settle(_ settlement: Settlement) {
        loop.enqueue(.settle(origin, tag: deliveryTag, settlement) { _ in })
    }
}
