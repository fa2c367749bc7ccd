import AMQP
import Foundation
import PatchFleetWire
import Testing

/// The shared test broker. Unreachable means the tests fail: a wire layer
/// only ever tested against nothing is not tested.
enum TestBroker {
    static var url: String {
        ProcessInfo.processInfo.environment["PATCHFLEET_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5682/%2f"
    }

    static func connect() async throws -> AMQPConnection {
        do {
            return try await AMQPConnection.connect(url: url)
        } catch {
            Issue.record("broker at \(url) is unreachable: \(error) (set PATCHFLEET_AMQP_URL)")
            throw error
        }
    }

    /// Declares a uniquely named fleet topology, runs `body`, then deletes
    /// every queue and exchange it declared, whether `body` threw or not.
    static func withFleet(_ body: (FleetTopology, AMQPConnection) async throws -> Void) async throws {
        let connection = try await connect()
        let fleet = FleetTopology(prefix: "test-wire-\(UUID().uuidString.prefix(8).lowercased())")
        var failure: (any Error)?
        do {
            try await connection.declare(fleet.topology)
            try await body(fleet, connection)
        } catch {
            failure = error
        }
        for queue in fleet.queues { _ = try? await connection.deleteQueue(queue.name) }
        for exchange in fleet.exchanges { try? await connection.deleteExchange(exchange.name) }
        await connection.close()
        if let failure { throw failure }
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "nothing arrived on \(what) in time" }
}

/// The next delivery on `queue`, from a consumer of its own, cancelled
/// before the delivery is returned: with prefetch 1 and the delivery not yet
/// settled, the broker cannot have pushed a second one to this consumer
/// (which, buffered and never read, would stay unacked until the connection
/// closes). The caller settles the delivery after the cancel, which the
/// AMQP layer allows.
func receiveOne(_ connection: AMQPConnection, from queue: String, within seconds: Double = 10) async throws -> AMQPDelivery {
    let consumer = try await connection.consume(queue: queue, prefetch: 1)
    let delivery = try await withThrowingTaskGroup(of: AMQPDelivery?.self) { group in
        group.addTask {
            var iterator = consumer.makeAsyncIterator()
            return try await iterator.next()
        }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return first
    }
    await consumer.cancel()
    guard let delivery else { throw TimedOut(what: queue) }
    return delivery
}
