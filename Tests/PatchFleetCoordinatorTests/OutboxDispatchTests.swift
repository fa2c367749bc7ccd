import AMQP
import Foundation
import PatchFleetCore
import PatchFleetStore
import PatchFleetWire
import Testing
@testable import PatchFleetCoordinator

/// The outbox dispatcher against the real broker: however many rounds are
/// asked for at once (the timer loop and every input handler ask), each
/// entry is published once.
@Suite("Outbox dispatch", .timeLimit(.minutes(1)))
struct OutboxDispatchTests {
    struct NoBackend: VirtualizationBackend, UpdateBackend {
        func fail<T>() throws(BackendError) -> T { throw BackendError(.internalError, "not used by this test") }
        func listClusters() async throws(BackendError) -> [Cluster] { try fail() }
        func listHosts(cluster: String?) async throws(BackendError) -> [PatchFleetCore.Host] { try fail() }
        func listVMs(host: String?) async throws(BackendError) -> [VM] { try fail() }
        func host(named name: String) async throws(BackendError) -> PatchFleetCore.Host { try fail() }
        func hostHealth(_ host: String) async throws(BackendError) -> HostHealth { try fail() }
        func enterMaintenance(host: String, migrateRunningVMs: Bool) async throws(BackendError) { try fail() as Void }
        func exitMaintenance(host: String) async throws(BackendError) { try fail() as Void }
        func liveMigrate(vm: String, to host: String) async throws(BackendError) { try fail() as Void }
        func quickMigrate(vm: String, to host: String) async throws(BackendError) { try fail() as Void }
        func moveVM(vm: String, to host: String) async throws(BackendError) { try fail() as Void }
        func saveState(vm: String) async throws(BackendError) { try fail() as Void }
        func shutDown(vm: String) async throws(BackendError) { try fail() as Void }
        func start(vm: String) async throws(BackendError) { try fail() as Void }
        func collectionMembers(_ collection: String) async throws(BackendError) -> [String] { try fail() }
        func ensureCollection(_ collection: String) async throws(BackendError) { try fail() as Void }
        func addHost(_ host: String, toCollection collection: String) async throws(BackendError) { try fail() as Void }
        func refreshPolicy(host: String) async throws(BackendError) { try fail() as Void }
        func triggerInstall(host: String, updateIds: [String]) async throws(BackendError) { try fail() as Void }
        func compliance(host: String, updateIds: [String]) async throws(BackendError) -> ComplianceReport { try fail() }
        func pendingReboot(host: String) async throws(BackendError) -> Bool { try fail() }
        func reboot(host: String) async throws(BackendError) { try fail() as Void }
    }

    @Test func concurrentRoundsPublishEachEntryOnce() async throws {
        let connection = try await AMQPConnection.connect(url: FleetEndToEndTests.url)
        let topology = FleetTopology(prefix: "test-outbox-\(UUID().uuidString.prefix(8).lowercased())")
        try await connection.declare(topology.topology)
        let sink = "\(topology.prefix).sink"
        try await connection.declare(QueueSpec(sink, durable: false))
        try await connection.bind(QueueBinding(queue: sink, exchange: topology.eventsExchange, routingKey: "#"))

        let at = Instant(secondsSinceEpoch: 1_800_000_000)
        let count = 300
        let events = try (0..<count).map { index in
            try OutboxEntry.event(FleetEvent(at: at, .job(JobStateChange(jobId: "job-\(index)", state: .running))),
                                  topology: topology, at: at)
        }
        let store = InMemorySagaStore()
        let spec = try JobSpecLoader.load(#"{"schemaVersion":1,"id":"outbox-test","targets":{"clusters":["c1"]},"updates":{"updateIds":["KB1"]}}"#)
        try await store.createJob(JobRecord(spec: spec, state: .running, submittedAt: at), sagas: [], outbox: events)
        let engine = CoordinatorEngine(store: store, topology: topology, virtualization: NoBackend(), updates: NoBackend(),
                                       updateLists: [], now: { at })
        let service = CoordinatorService(engine: engine, connection: connection, store: store, topology: topology, now: { at })

        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<12 { group.addTask { await service.dispatchOutbox() } }
        }
        // Every round asked for has run (the last caller's round folds the
        // others in); whatever is still pending would be published by the next.
        await service.dispatchOutbox()
        #expect(try await store.pendingOutbox(limit: 1_000, readyAt: at).isEmpty)
        let published = try await connection.deleteQueue(sink)
        #expect(published == count, "each outbox entry exactly once on the exchange (found \(published) of \(count))")
        for queue in topology.queues { _ = try? await connection.deleteQueue(queue.name) }
        for exchange in topology.exchanges { try? await connection.deleteExchange(exchange.name) }
        await connection.close()
    }
}
