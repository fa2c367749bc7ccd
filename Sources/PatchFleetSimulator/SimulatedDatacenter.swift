import Foundation
import PatchFleetCore
import Synchronization

/// The simulated datacenter: one shared state behind a lock, reachable from
/// any number of callers (later: worker processes over the network).
///
/// Two ways in: the async `VirtualizationBackend` / `UpdateBackend` calls
/// (time comes from the injected clock; a call returns when its simulated
/// duration has passed on that clock), and `perform(_:at:)` for the
/// deterministic driver, which passes time explicitly and gets back when
/// the answer is due instead of waiting for it.
public final class SimulatedDatacenter: Sendable {
    private let model: Mutex<DatacenterModel>
    public let clock: any SimulationClock
    /// The inventory the history starts from: what the invariant checker
    /// replays the history onto (the lab's "check the invariants" request).
    public let initialInventory: Inventory

    public init(inventory: Inventory, faults: [Fault] = [], durations: SimulatedDurations = SimulatedDurations(),
                seed: UInt64, clock: any SimulationClock) {
        self.clock = clock
        self.initialInventory = inventory
        self.model = Mutex(DatacenterModel(inventory: inventory, faults: faults, durations: durations, seed: seed, start: clock.now()))
    }

    public convenience init(configuration: LabConfiguration, clock: any SimulationClock) {
        self.init(inventory: configuration.inventory, faults: configuration.faults, durations: configuration.durations,
                  seed: configuration.seed, clock: clock)
    }

    // MARK: Deterministic driver access

    public func perform(_ command: SagaCommand, at time: Instant) -> (at: Instant, answer: EventBody) {
        model.withLock { $0.perform(command, at: time) }
    }

    public func advance(to instant: Instant) {
        model.withLock { $0.advance(to: instant) }
    }

    public var nextChangeAt: Instant? { model.withLock { $0.nextChangeAt } }
    public var inventory: Inventory { model.withLock { $0.inventory } }
    public var history: [HistoryRecord] { model.withLock { $0.history } }

    /// State and history as JSON (sorted keys): what later tools check invariants from.
    public func snapshotJSON() throws -> Data {
        let snapshot = model.withLock { LabSnapshot(now: $0.now, inventory: $0.inventory, history: $0.history) }
        return try WireCoding.prettyEncoder().encode(snapshot)
    }

    public func writeSnapshot(to url: URL) throws {
        try snapshotJSON().write(to: url, options: .atomic)
    }

    // MARK: Async path

    /// Runs one operation at the clock's now, waits its simulated duration, and
    /// lands every change due by then before answering.
    func call<T: Sendable>(_ operation: (inout DatacenterModel, Instant) -> Ticket<T>) async throws(BackendError) -> T {
        let start = clock.now()
        let ticket = model.withLock { operation(&$0, start) }
        do {
            try await clock.sleep(until: ticket.at)
        } catch {
            throw BackendError(.timeout, "call interrupted while waiting for the simulated datacenter: \(error)")
        }
        let end = clock.now()
        model.withLock { $0.advance(to: end) }
        return try ticket.result.get()
    }

    func read<T: Sendable>(_ query: (DatacenterModel) -> T) -> T {
        let now = clock.now()
        return model.withLock {
            $0.advance(to: now)
            return query($0)
        }
    }
}

/// What `snapshotJSON` writes.
public struct LabSnapshot: Codable, Sendable {
    public var now: Instant
    public var inventory: Inventory
    public var history: [HistoryRecord]

    public init(now: Instant, inventory: Inventory, history: [HistoryRecord]) {
        self.now = now
        self.inventory = inventory
        self.history = history
    }
}

extension SimulatedDatacenter: VirtualizationBackend {
    public func listClusters() async throws(BackendError) -> [Cluster] { read { $0.inventory.clusters } }

    public func listHosts(cluster: String?) async throws(BackendError) -> [PatchFleetCore.Host] {
        read { model in cluster.map { model.inventory.hosts(inCluster: $0) } ?? model.inventory.hosts }
    }

    public func listVMs(host: String?) async throws(BackendError) -> [VM] {
        read { model in host.map { model.inventory.vms(on: $0) } ?? model.inventory.vms }
    }

    /// One pass over the VMs, not one per host.
    public func listVMs(onHosts hosts: Set<String>) async throws(BackendError) -> [VM] {
        read { model in model.inventory.vms.filter { hosts.contains($0.host) } }
    }

    public func host(named name: String) async throws(BackendError) -> PatchFleetCore.Host {
        guard let host = read({ $0.inventory.host(named: name) }) else {
            throw BackendError(.notFound, "Unable to find a host named '\(name)'")
        }
        return host
    }

    public func hostHealth(_ host: String) async throws(BackendError) -> HostHealth {
        try await call { $0.health(of: host, at: $1) }
    }

    public func enterMaintenance(host: String, migrateRunningVMs: Bool) async throws(BackendError) {
        try await call { $0.enterMaintenance(host: host, migrateRunningVMs: migrateRunningVMs, at: $1) }
    }

    public func exitMaintenance(host: String) async throws(BackendError) {
        try await call { $0.exitMaintenance(host: host, at: $1) }
    }

    public func liveMigrate(vm: String, to host: String) async throws(BackendError) {
        try await call { $0.migrate(vm: vm, to: host, quick: false, timeoutSeconds: nil, at: $1) }
    }

    public func quickMigrate(vm: String, to host: String) async throws(BackendError) {
        try await call { $0.migrate(vm: vm, to: host, quick: true, timeoutSeconds: nil, at: $1) }
    }

    public func moveVM(vm: String, to host: String) async throws(BackendError) {
        try await call { $0.moveStopped(vm: vm, to: host, at: $1) }
    }

    public func saveState(vm: String) async throws(BackendError) {
        try await call { $0.changePower(vm: vm, to: .saved, at: $1) }
    }

    public func shutDown(vm: String) async throws(BackendError) {
        try await call { $0.changePower(vm: vm, to: .stopped, at: $1) }
    }

    public func start(vm: String) async throws(BackendError) {
        try await call { $0.changePower(vm: vm, to: .running, at: $1) }
    }
}

extension SimulatedDatacenter: UpdateBackend {
    public func collectionMembers(_ collection: String) async throws(BackendError) -> [String] {
        try await call { $0.collectionMembers(collection, at: $1) }
    }

    public func ensureCollection(_ collection: String) async throws(BackendError) {
        try await call { $0.ensureCollection(collection, at: $1) }
    }

    public func addHost(_ host: String, toCollection collection: String) async throws(BackendError) {
        try await call { $0.addHost(host, toCollection: collection, at: $1) }
    }

    public func refreshPolicy(host: String) async throws(BackendError) {
        try await call { $0.refreshPolicy(host: host, at: $1) }
    }

    public func triggerInstall(host: String, updateIds: [String]) async throws(BackendError) {
        try await call { $0.triggerInstall(host: host, updateIds: updateIds, at: $1) }
    }

    public func compliance(host: String, updateIds: [String]) async throws(BackendError) -> ComplianceReport {
        try await call { $0.compliance(host: host, updateIds: updateIds, at: $1) }
    }

    public func pendingReboot(host: String) async throws(BackendError) -> Bool {
        try await call { $0.isPendingReboot(host: host, at: $1) }
    }

    public func reboot(host: String) async throws(BackendError) {
        try await call { $0.reboot(host: host, at: $1) }
    }
}
