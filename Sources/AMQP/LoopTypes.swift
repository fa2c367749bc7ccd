import Foundation

typealias Completion<T> = @Sendable (Result<T, AMQPError>) -> Void

/// What to do with a publish that was sent but not yet confirmed when the
/// connection dropped. The broker may or may not have it, so the caller chooses.
public enum UnconfirmedPublishPolicy: Sendable {
    /// Fail the publish with `AMQPError.connectionLost`; the caller decides.
    case fail
    /// Publish it again after the reconnect (at-least-once: it may arrive twice).
    case republish
}

/// How a delivery is settled.
enum Settlement: Sendable {
    case ack
    case nack(requeue: Bool)
    case reject(requeue: Bool)
}

struct OutboundPublish: Sendable {
    var exchange: String
    var routingKey: String
    var mandatory: Bool
    var message: AMQPMessage
    var onConnectionLoss: UnconfirmedPublishPolicy
    var completion: Completion<Void>
}

/// A publish awaiting its confirm.
struct PendingConfirm {
    var publish: OutboundPublish
    /// Set when the broker returned the (mandatory) message as unroutable; the
    /// ack that follows then completes it with this error.
    var returned: AMQPError?
}

struct ConsumerRequest: Sendable {
    var id: Int
    var queue: String
    var prefetch: UInt16
    var exclusive: Bool
    var arguments: AMQPFieldTable
    var tag: String
    var continuation: AsyncThrowingStream<AMQPDelivery, Error>.Continuation
    var ledger: DeliveryLedger
}

/// Identifies the channel incarnation a delivery came from: after the channel
/// is reopened (or the connection re-established) its delivery tags are void.
struct DeliveryOrigin: Sendable, Hashable {
    var channel: UInt16
    var generation: UInt64
}

enum LoopCommand: Sendable {
    case declare(TopologyDeclaration, Completion<QueueDeclareResult?>)
    case deleteQueue(String, Completion<Int>)
    case deleteExchange(String, Completion<Void>)
    case purgeQueue(String, Completion<Int>)
    case publish(OutboundPublish)
    case consume(ConsumerRequest, Completion<Void>)
    case cancelConsumer(id: Int, Completion<Void>?)
    case settle(DeliveryOrigin, tag: UInt64, Settlement, Completion<Bool>)
    case close(Completion<Void>)
}

/// Observable connection life-cycle, for logs, metrics and tests.
public enum AMQPConnectionEvent: Sendable, Equatable {
    case connected
    case disconnected(AMQPError)
    case reconnected(attempts: Int)
    case blocked(reason: String)
    case unblocked
    case closed
}

/// Reconnect behaviour after a connection that was once up is lost.
public struct RecoveryPolicy: Sendable, Equatable {
    public var enabled: Bool
    public var initialDelay: Double
    public var maxDelay: Double
    public var multiplier: Double

    public init(enabled: Bool = true, initialDelay: Double = 0.2, maxDelay: Double = 5, multiplier: Double = 2) {
        self.enabled = enabled
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = multiplier
    }

    public static let `default` = RecoveryPolicy()
    public static let disabled = RecoveryPolicy(enabled: false)

    /// Delay before reconnect attempt `attempt` (1-based), with ±20% jitter so
    /// that a fleet of workers does not reconnect in lock-step.
    func delay(attempt: Int) -> Double {
        let raw = min(maxDelay, initialDelay * pow(multiplier, Double(max(0, attempt - 1))))
        return raw * Double.random(in: 0.8...1.2)
    }
}
