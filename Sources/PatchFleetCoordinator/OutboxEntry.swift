import AMQP
import Foundation
import PatchFleetCore
import PatchFleetStore
import PatchFleetWire

/// What the coordinator writes to its outbox, in the same transaction as the
/// state change that caused it, and how the dispatcher turns it back into an
/// AMQP publication. The body is the wire message itself; the outbox id
/// becomes its AMQP message id, so a re-publish after a crash carries the
/// same id and receivers deduplicate it.
enum OutboxEntry {
    static let kindHeader = "pf-kind"
    static let causationHeader = "pf-causation"
    /// The saga-level deadline of a task (saga time); stamped on the task as
    /// a wall-clock `x-pf-deadline` at publication, so a worker never starts
    /// an attempt the saga has already given up on.
    static let deadlineHeader = "pf-deadline"

    enum Kind: String {
        case task, timer, event
    }

    /// A saga command: a task for a worker role, or (wakeAt) the coordinator's
    /// own timer, held in the outbox until it is due and then answered.
    static func command(_ command: SagaCommand, topology: FleetTopology, causation: String?, deadline: Instant? = nil,
                        at now: Instant) throws -> OutboxMessage {
        let id = command.idempotencyKey
        var headers = [kindHeader: Kind.task.rawValue]
        if let causation { headers[causationHeader] = causation }
        if let deadline { headers[deadlineHeader] = String(deadline.secondsSinceEpoch) }
        if case .wakeAt(let wake) = command.body {
            headers[kindHeader] = Kind.timer.rawValue
            let answer = ResultMessage(answering: command, taskMessageId: id, at: wake.at, .timerFired)
            return OutboxMessage(id: "\(id):fired", exchange: topology.resultsExchange, routingKey: FleetTopology.resultsRoutingKey,
                                 headers: headers, body: try WireCoding.encode(answer), createdAt: now, notBefore: wake.at)
        }
        guard case .worker(let role) = command.body.kind.route else {
            throw WireError.encodingFailed("command \(command.body.kind.rawValue) has no worker role")
        }
        return OutboxMessage(id: id, exchange: topology.tasksExchange, routingKey: role.rawValue, headers: headers,
                             body: try WireCoding.encode(TaskMessage(command)), createdAt: now)
    }

    static func event(_ event: FleetEvent, topology: FleetTopology, at now: Instant) throws -> OutboxMessage {
        OutboxMessage(id: "event:\(UUID().uuidString)", exchange: topology.eventsExchange, routingKey: event.routingKey,
                      headers: [kindHeader: Kind.event.rawValue], body: try WireCoding.encode(event), createdAt: now)
    }

    /// The publication for a stored entry. `wallClock` turns a saga-time
    /// deadline into the wall-clock one workers check; `signer` signs tasks
    /// and timer results (events are for everyone and carry no authority).
    static func publication(_ entry: OutboxMessage, topology: FleetTopology, signer: MessageSigner? = nil,
                            wallClock: (Instant) -> Instant = { $0 }) throws -> AMQPConnection.Publication {
        let causation = entry.headers[causationHeader]
        switch Kind(rawValue: entry.headers[kindHeader] ?? "") {
        case .task:
            let task = try WireCoding.decode(TaskMessage.self, from: entry.body)
            let deadline = entry.headers[deadlineHeader].flatMap(Double.init).map { wallClock(Instant(secondsSinceEpoch: $0)) }
            var message = try WireEncoder.encode(task, messageId: entry.id, causationId: causation, deadline: deadline)
            signer?.sign(&message)
            return try topology.task(task, message)
        case .timer:
            let result = try WireCoding.decode(ResultMessage.self, from: entry.body)
            // A result's causation is the task it answers (the body says which).
            var message = try WireEncoder.encode(result, messageId: entry.id)
            signer?.sign(&message)
            return topology.result(message)
        case .event:
            let event = try WireCoding.decode(FleetEvent.self, from: entry.body)
            return try topology.event(event, try WireEncoder.encode(event, messageId: entry.id))
        case nil:
            throw WireError.encodingFailed("outbox entry \(entry.id) has no known \(kindHeader) header")
        }
    }
}
