import AMQP
import Foundation
import Logging
import PatchFleetCore
import PatchFleetSimulator
import Synchronization

/// Serves one simulated datacenter to every worker process over AMQP.
/// Requests run concurrently (each waits its simulated duration on the
/// datacenter's clock), up to the consumer's prefetch.
public struct LabServer: Sendable {
    public let datacenter: SimulatedDatacenter
    public let connection: AMQPConnection
    public let queue: String
    public let concurrency: UInt16
    let logger: Logger
    private let served = ServedCalls()

    public init(datacenter: SimulatedDatacenter, connection: AMQPConnection, queue: String = "patchfleet.lab",
                concurrency: UInt16 = 256, logger: Logger = Logger(label: "patchfleet.lab")) {
        self.datacenter = datacenter
        self.connection = connection
        self.queue = queue
        self.concurrency = concurrency
        self.logger = logger
    }

    /// The lab's request queue: not durable (the lab's state is not either),
    /// requests expire by their per-message TTL when nobody serves them.
    /// Durable, so a broker restart does not leave the fleet without a datacenter.
    public static func queueSpec(_ name: String) -> QueueSpec { QueueSpec(name, durable: true) }

    /// Serves until the task is cancelled (which ends the consumer's sequence
    /// and cancels the consumer) or the connection closes.
    public func run() async throws {
        try await connection.declare(Self.queueSpec(queue))
        let consumer = try await connection.consume(queue: queue, prefetch: concurrency)
        try await withThrowingDiscardingTaskGroup { handlers in
            for try await delivery in consumer {
                handlers.addTask { await self.serve(delivery) }
            }
        }
    }

    /// The start of the answer to a request this lab cannot read (a newer
    /// client's operation among them): clients recognise it to fall back.
    static let malformedRequestPrefix = "malformed lab request:"

    private func serve(_ delivery: AMQPDelivery) async {
        defer { delivery.ack() }
        let response: LabResponse
        do {
            let request = try JSONDecoder().decode(LabRequest.self, from: delivery.body)
            if request.op == .stats {
                var out = LabResponse()
                out.calls = served.counts()
                response = out
            } else {
                served.count(request.op)
                response = await handle(request)
            }
        } catch {
            response = LabResponse(error: BackendError(.internalError, "\(Self.malformedRequestPrefix) \(error)"))
        }
        guard let replyTo = delivery.properties.replyTo else {
            logger.warning("lab request without reply_to dropped after handling")
            return
        }
        do {
            let body = try WireCoding.encode(response)
            try await connection.publish(
                AMQPMessage(body: body, properties: AMQPProperties(
                    contentType: "application/json", correlationId: delivery.properties.correlationId,
                    type: LabResponse.schema)),
                exchange: "", routingKey: replyTo)
        } catch {
            logger.warning("could not answer lab request \(delivery.properties.correlationId ?? "?"): \(error)")
        }
    }

    /// Runs one operation against the datacenter; failures become the reply's error.
    public func handle(_ r: LabRequest) async -> LabResponse {
        var out = LabResponse()
        let dc = datacenter
        do throws(BackendError) {
            switch r.op {
            case .listClusters: out.clusters = try await dc.listClusters()
            case .listHosts: out.hosts = try await dc.listHosts(cluster: r.cluster)
            case .listVMs:
                out.vms = if let hosts = r.hosts { try await dc.listVMs(onHosts: Set(hosts)) } else { try await dc.listVMs(host: r.host) }
            case .clusterSnapshot:
                let snapshot = try await dc.clusterSnapshot(cluster: try r.required(r.cluster, "cluster"))
                out.hosts = snapshot.hosts
                out.vms = snapshot.vms
            case .host: out.host = try await dc.host(named: try r.required(r.host, "host"))
            case .hostHealth: out.health = try await dc.hostHealth(try r.required(r.host, "host"))
            case .enterMaintenance:
                try await dc.enterMaintenance(host: try r.required(r.host, "host"), migrateRunningVMs: r.migrateRunningVMs ?? false)
            case .exitMaintenance: try await dc.exitMaintenance(host: try r.required(r.host, "host"))
            case .liveMigrate: try await dc.liveMigrate(vm: try r.required(r.vm, "vm"), to: try r.required(r.to, "to"))
            case .quickMigrate: try await dc.quickMigrate(vm: try r.required(r.vm, "vm"), to: try r.required(r.to, "to"))
            case .moveVM: try await dc.moveVM(vm: try r.required(r.vm, "vm"), to: try r.required(r.to, "to"))
            case .saveState: try await dc.saveState(vm: try r.required(r.vm, "vm"))
            case .shutDown: try await dc.shutDown(vm: try r.required(r.vm, "vm"))
            case .start: try await dc.start(vm: try r.required(r.vm, "vm"))
            case .collectionMembers: out.members = try await dc.collectionMembers(try r.required(r.collection, "collection"))
            case .ensureCollection: try await dc.ensureCollection(try r.required(r.collection, "collection"))
            case .addHostToCollection:
                try await dc.addHost(try r.required(r.host, "host"), toCollection: try r.required(r.collection, "collection"))
            case .refreshPolicy: try await dc.refreshPolicy(host: try r.required(r.host, "host"))
            case .triggerInstall:
                try await dc.triggerInstall(host: try r.required(r.host, "host"), updateIds: try r.required(r.updateIds, "updateIds"))
            case .compliance:
                out.compliance = try await dc.compliance(host: try r.required(r.host, "host"),
                                                         updateIds: try r.required(r.updateIds, "updateIds"))
            case .pendingReboot: out.pendingReboot = try await dc.pendingReboot(host: try r.required(r.host, "host"))
            case .reboot: try await dc.reboot(host: try r.required(r.host, "host"))
            case .stats:
                throw BackendError(.internalError, "stats are answered by the server, not the datacenter")
            case .snapshot:
                out.snapshot = LabSnapshot(now: dc.clock.now(), inventory: dc.inventory, history: dc.history)
            case .checkInvariants:
                // Replayed here, where the history is: the caller gets the verdict, not megabytes of history.
                let report = try r.required(r.report, "report")
                out.violations = InvariantChecker(policy: try r.required(r.policy, "policy"))
                    .check(initial: dc.initialInventory, history: dc.history, final: dc.inventory, report: report)
            }
        } catch {
            return LabResponse(error: error)
        }
        return out
    }
}

/// Calls served by operation, shared by the server's concurrent handlers.
final class ServedCalls: Sendable {
    private let byOperation = Mutex<[LabOperation: Int]>([:])

    func count(_ op: LabOperation) { byOperation.withLock { $0[op, default: 0] += 1 } }

    func counts() -> [String: Int] {
        byOperation.withLock { counts in Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }) }
    }
}
