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

    enum Kind: String {
        case task, timer, event
    }

    /// A saga command: a task for a worker role, or (wakeAt) the coordinator's
    /// own timer, held in the outbox until it is due and then answered.
    static func command(_ command: SagaCommand, topology: FleetTopology, causation: String?, at now: Instant) throws -> OutboxMessage {
        let id = command.idempotencyKey
        var headers = [kindHeader: Kind.task.rawValue]
        if let causation { headers[causationHeader] = causation }
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

    /// The publication for a stored entry.
    static func publication(_ entry: OutboxMessage, topology: FleetTopology) throws -> AMQPConnection.Publication {
        let causation = entry.headers[causationHeader]
        switch Kind(rawValue: entry.headers[kindHeader] ?? "") {
        case .task:
            let task = try WireCoding.decode(TaskMessage.self, from: entry.body)
            return try topology.task(task, try WireEncoder.encode(task, messageId: entry.id, causationId: causation))
        case .timer:
            let result = try WireCoding.decode(ResultMessage.self, from: entry.body)
            // A result's causation is the task it answers (the body says which).
            return topology.result(try WireEncoder.encode(result, messageId: entry.id))
        case .event:
            let event = try WireCoding.decode(FleetEvent.self, from: entry.body)
            return try topology.event(event, try WireEncoder.encode(event, messageId: entry.id))
        case nil:
            throw WireError.encodingFailed("outbox entry \(entry.id) has no known \(kindHeader) header")
        }
    }
}
