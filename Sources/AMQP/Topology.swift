/// Declarations of exchanges, queues and bindings. The connection records every
/// declaration that succeeded and replays them, in order, after a reconnect,
/// so consumers find their queues again after a broker restart.

public struct ExchangeSpec: Sendable, Equatable {
    public enum Kind: String, Sendable { case direct, fanout, topic, headers }

    public var name: String
    public var kind: Kind
    public var durable: Bool
    public var autoDelete: Bool
    public var `internal`: Bool
    public var arguments: AMQPFieldTable

    public init(_ name: String, kind: Kind, durable: Bool = true, autoDelete: Bool = false,
                internal: Bool = false, arguments: AMQPFieldTable = [:]) {
        self.name = name
        self.kind = kind
        self.durable = durable
        self.autoDelete = autoDelete
        self.internal = `internal`
        self.arguments = arguments
    }
}

public struct QueueSpec: Sendable, Equatable {
    public enum QueueType: String, Sendable { case classic, quorum }
    public enum Overflow: String, Sendable { case dropHead = "drop-head", rejectPublish = "reject-publish", rejectPublishDLX = "reject-publish-dlx" }
    /// Quorum queues only: at-least-once dead-lettering keeps a dead-lettered
    /// message until the dead-letter queue confirms it (RabbitMQ 3.10+).
    public enum DeadLetterStrategy: String, Sendable { case atMostOnce = "at-most-once", atLeastOnce = "at-least-once" }

    public var name: String
    public var type: QueueType
    public var durable: Bool
    public var exclusive: Bool
    public var autoDelete: Bool
    public var deadLetterExchange: String?
    public var deadLetterRoutingKey: String?
    public var deadLetterStrategy: DeadLetterStrategy?
    /// Quorum queues: after this many redeliveries a message is dead-lettered (poison protection).
    public var deliveryLimit: Int?
    /// Milliseconds a message may wait in the queue before it expires (or is dead-lettered).
    public var messageTTL: Int?
    public var maxLength: Int?
    public var overflow: Overflow?
    public var singleActiveConsumer: Bool
    /// Any further `x-` arguments, sent after the ones above.
    public var extraArguments: AMQPFieldTable

    public init(_ name: String, type: QueueType = .classic, durable: Bool = true, exclusive: Bool = false,
                autoDelete: Bool = false, deadLetterExchange: String? = nil, deadLetterRoutingKey: String? = nil,
                deadLetterStrategy: DeadLetterStrategy? = nil, deliveryLimit: Int? = nil, messageTTL: Int? = nil,
                maxLength: Int? = nil, overflow: Overflow? = nil, singleActiveConsumer: Bool = false,
                extraArguments: AMQPFieldTable = [:]) {
        self.name = name
        self.type = type
        self.durable = durable
        self.exclusive = exclusive
        self.autoDelete = autoDelete
        self.deadLetterExchange = deadLetterExchange
        self.deadLetterRoutingKey = deadLetterRoutingKey
        self.deadLetterStrategy = deadLetterStrategy
        self.deliveryLimit = deliveryLimit
        self.messageTTL = messageTTL
        self.maxLength = maxLength
        self.overflow = overflow
        self.singleActiveConsumer = singleActiveConsumer
        self.extraArguments = extraArguments
    }

    /// The `x-` arguments the broker receives for this queue.
    public var arguments: AMQPFieldTable {
        var args = AMQPFieldTable()
        if type == .quorum { args["x-queue-type"] = .string("quorum") }
        if let v = deadLetterExchange { args["x-dead-letter-exchange"] = .string(v) }
        if let v = deadLetterRoutingKey { args["x-dead-letter-routing-key"] = .string(v) }
        if let v = deadLetterStrategy { args["x-dead-letter-strategy"] = .string(v.rawValue) }
        if let v = deliveryLimit { args["x-delivery-limit"] = .int64(Int64(v)) }
        if let v = messageTTL { args["x-message-ttl"] = .int64(Int64(v)) }
        if let v = maxLength { args["x-max-length"] = .int64(Int64(v)) }
        if let v = overflow { args["x-overflow"] = .string(v.rawValue) }
        if singleActiveConsumer { args["x-single-active-consumer"] = .bool(true) }
        for (k, v) in extraArguments { args[k] = v }
        return args
    }
}

public struct QueueBinding: Sendable, Equatable {
    public var queue: String
    public var exchange: String
    public var routingKey: String
    public var arguments: AMQPFieldTable

    public init(queue: String, exchange: String, routingKey: String = "", arguments: AMQPFieldTable = [:]) {
        self.queue = queue
        self.exchange = exchange
        self.routingKey = routingKey
        self.arguments = arguments
    }
}

/// A whole topology, declared in order: exchanges, then queues, then bindings.
public struct Topology: Sendable, Equatable {
    public var exchanges: [ExchangeSpec]
    public var queues: [QueueSpec]
    public var bindings: [QueueBinding]

    public init(exchanges: [ExchangeSpec] = [], queues: [QueueSpec] = [], bindings: [QueueBinding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }
}

/// What the broker says about a queue it declared.
public struct QueueDeclareResult: Sendable, Equatable {
    public var name: String
    public var messageCount: Int
    public var consumerCount: Int
}

/// One declaration, as recorded for replay after a reconnect.
enum TopologyDeclaration: Sendable, Equatable {
    case exchange(ExchangeSpec)
    case queue(QueueSpec)
    case binding(QueueBinding)
    case unbinding(QueueBinding)
    case queueDeleted(String)
    case exchangeDeleted(String)
}

/// The declarations to replay after a reconnect. Deletions and unbindings
/// remove what they undo, so a replay never resurrects a deleted queue.
struct RecordedTopology: Sendable {
    private(set) var declarations: [TopologyDeclaration] = []

    mutating func record(_ d: TopologyDeclaration) {
        switch d {
        case .exchange(let spec):
            replaceOrAppend(d) { if case .exchange(let s) = $0 { return s.name == spec.name }; return false }
        case .queue(let spec):
            replaceOrAppend(d) { if case .queue(let s) = $0 { return s.name == spec.name }; return false }
        case .binding(let b):
            if !declarations.contains(d) { declarations.append(.binding(b)) }
        case .unbinding(let b):
            declarations.removeAll { $0 == .binding(b) }
        case .queueDeleted(let name):
            declarations.removeAll {
                switch $0 {
                case .queue(let s): return s.name == name
                case .binding(let b): return b.queue == name
                default: return false
                }
            }
        case .exchangeDeleted(let name):
            declarations.removeAll {
                switch $0 {
                case .exchange(let s): return s.name == name
                case .binding(let b): return b.exchange == name
                default: return false
                }
            }
        }
    }

    /// Keeps a redeclared exchange or queue at its first place, so that the
    /// bindings recorded after it are still replayed after it.
    private mutating func replaceOrAppend(_ d: TopologyDeclaration, matching: (TopologyDeclaration) -> Bool) {
        if let i = declarations.firstIndex(where: matching) { declarations[i] = d } else { declarations.append(d) }
    }
}
