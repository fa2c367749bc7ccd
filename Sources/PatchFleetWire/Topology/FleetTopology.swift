import AMQP

/// The fleet's exchanges, queues and bindings (docs/messages.md has the table).
/// Every name starts with `prefix`, so tests and side-by-side fleets on one
/// broker never share a queue. Declaring it is idempotent: the coordinator
/// and (unless their broker user may not: docs/security.md) the workers
/// declare it at start, and the AMQP layer re-declares it after a reconnect.
public struct FleetTopology: Sendable, Equatable {
    public var prefix: String
    /// Deliveries of one task before the quorum queue dead-letters it (poison
    /// protection: a task that crashes its worker every time stops somewhere).
    public var deliveryLimit: Int
    public var delayBuckets: DelayBuckets

    public init(prefix: String = "patchfleet", deliveryLimit: Int = 5, delayBuckets: DelayBuckets = .standard) {
        self.prefix = prefix
        self.deliveryLimit = deliveryLimit
        self.delayBuckets = delayBuckets
    }

    // MARK: Names

    /// Topic: `job.submit`, `job.cancel`, `job.pause`, `job.resume`.
    public var controlExchange: String { "\(prefix).control" }
    public var jobsQueue: String { "\(prefix).coordinator.jobs" }
    /// Direct: routing key `job.query`; read-only questions to the coordinator.
    public var queryExchange: String { "\(prefix).query" }
    public var queriesQueue: String { "\(prefix).coordinator.queries" }
    public static let queryRoutingKey = "job.query"
    /// Direct: routing key = role name.
    public var tasksExchange: String { "\(prefix).tasks" }
    public func taskQueue(_ role: Role) -> String { "\(prefix).tasks.\(role.rawValue)" }
    /// Direct: routing key `coordinator`.
    public var resultsExchange: String { "\(prefix).results" }
    public var resultsQueue: String { "\(prefix).coordinator.results" }
    public static let resultsRoutingKey = "coordinator"
    /// Fanout: every dead letter, whatever its routing key, lands in `deadQueue`.
    public var deadExchange: String { "\(prefix).dead" }
    public var deadQueue: String { "\(prefix).dead-letters" }
    /// A bounded copy of every dead letter for the coordinator's dashboard,
    /// so showing them never touches `deadQueue` (which people settle with
    /// `patchfleet dead-letters`). The oldest copies drop off at the limit.
    public var deadSeenQueue: String { "\(prefix).coordinator.dead-seen" }
    public static let deadSeenLimit = 500
    /// Headers exchange: routes on `x-pf-delay-target` and `x-pf-delay-bucket`,
    /// so the routing key stays the original one for the way back.
    public var delayExchange: String { "\(prefix).delay" }
    public func delayQueue(_ target: DelayTarget, seconds: Int) -> String {
        "\(prefix).delay.\(target.rawValue).\(seconds)s"
    }
    /// Topic: `job.<id>.<state>`, `host.<cluster>.<host>.<state>`. No queues
    /// here: each subscriber declares its own and binds the keys it wants.
    public var eventsExchange: String { "\(prefix).events" }

    public static let controlRoutingKeys = ["job.submit"] + JobControlRequest.Action.allCases.map(\.routingKey)

    public func exchange(for target: DelayTarget) -> String {
        switch target {
        case .tasks: tasksExchange
        case .results: resultsExchange
        }
    }

    // MARK: Declarations

    public var topology: Topology {
        Topology(exchanges: exchanges, queues: queues, bindings: bindings)
    }

    public var exchanges: [ExchangeSpec] {
        [
            ExchangeSpec(controlExchange, kind: .topic),
            ExchangeSpec(tasksExchange, kind: .direct),
            ExchangeSpec(resultsExchange, kind: .direct),
            ExchangeSpec(deadExchange, kind: .fanout),
            ExchangeSpec(delayExchange, kind: .headers),
            ExchangeSpec(eventsExchange, kind: .topic),
            ExchangeSpec(queryExchange, kind: .direct),
        ]
    }

    public var queues: [QueueSpec] {
        var queues = [workQueue(jobsQueue)]
        queues += Role.allCases.map { workQueue(taskQueue($0)) }
        queues.append(workQueue(resultsQueue))
        // The end of the line: no dead-letter exchange, no limit. x-death
        // on each message says where it died and why.
        queues.append(QueueSpec(deadQueue, type: .quorum))
        queues.append(QueueSpec(deadSeenQueue, maxLength: Self.deadSeenLimit, overflow: .dropHead))
        // A question nobody answered within a minute has no asker left: it
        // expires (a read, so nothing is lost) instead of piling up while
        // the coordinator is down.
        queues.append(QueueSpec(queriesQueue, messageTTL: 60_000))
        for target in DelayTarget.allCases {
            for seconds in delayBuckets.seconds {
                queues.append(QueueSpec(
                    delayQueue(target, seconds: seconds), type: .quorum,
                    deadLetterExchange: exchange(for: target), deadLetterStrategy: .atLeastOnce,
                    messageTTL: seconds * 1000, overflow: .rejectPublish))
            }
        }
        return queues
    }

    /// A consumed queue: quorum (replicated, survives a node), manual ack by
    /// its consumers, a delivery limit, and at-least-once dead-lettering so a
    /// message dead-lettered during a broker failure is not lost on the way.
    /// RabbitMQ only honours at-least-once with `x-overflow: reject-publish`.
    private func workQueue(_ name: String) -> QueueSpec {
        QueueSpec(name, type: .quorum, deadLetterExchange: deadExchange, deadLetterStrategy: .atLeastOnce,
                  deliveryLimit: deliveryLimit, overflow: .rejectPublish)
    }

    public var bindings: [QueueBinding] {
        var bindings = Self.controlRoutingKeys.map {
            QueueBinding(queue: jobsQueue, exchange: controlExchange, routingKey: $0)
        }
        bindings += Role.allCases.map {
            QueueBinding(queue: taskQueue($0), exchange: tasksExchange, routingKey: $0.rawValue)
        }
        bindings.append(QueueBinding(queue: resultsQueue, exchange: resultsExchange, routingKey: Self.resultsRoutingKey))
        bindings.append(QueueBinding(queue: deadQueue, exchange: deadExchange))
        bindings.append(QueueBinding(queue: deadSeenQueue, exchange: deadExchange))
        bindings.append(QueueBinding(queue: queriesQueue, exchange: queryExchange, routingKey: Self.queryRoutingKey))
        for target in DelayTarget.allCases {
            for seconds in delayBuckets.seconds {
                bindings.append(QueueBinding(
                    queue: delayQueue(target, seconds: seconds), exchange: delayExchange,
                    arguments: DelayTarget.bindingArguments(target, seconds: seconds)))
            }
        }
        return bindings
    }
}

/// The exchanges a delayed message can return to.
public enum DelayTarget: String, Sendable, CaseIterable {
    case tasks, results

    static func bucketName(_ seconds: Int) -> String { "\(seconds)s" }

    static func bindingArguments(_ target: DelayTarget, seconds: Int) -> AMQPFieldTable {
        [
            "x-match": .string("all"),
            EnvelopeHeader.delayTarget: .string(target.rawValue),
            EnvelopeHeader.delayBucket: .string(bucketName(seconds)),
        ]
    }
}
