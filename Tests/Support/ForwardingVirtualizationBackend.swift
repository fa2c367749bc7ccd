import PatchFleetCore

/// A test double over a real backend (usually the simulated datacenter):
/// every call goes to `base` unless the conforming type has its own, so a
/// test writes only the calls it counts, gates or bends. `clusterSnapshot`
/// is deliberately not forwarded: the protocol's default composes it from
/// this double's own `listHosts` and `listVMs(onHosts:)`, so a double that
/// bends those (renamed hosts, counted calls) bends observations too.
public protocol ForwardingVirtualizationBackend: VirtualizationBackend {
    var base: any VirtualizationBackend { get }
}

extension ForwardingVirtualizationBackend {
    public func listClusters() async throws(BackendError) -> [Cluster] { try await base.listClusters() }
    public func listHosts(cluster: String?) async throws(BackendError) -> [Host] { try await base.listHosts(cluster: cluster) }
    public func listVMs(host: String?) async throws(BackendError) -> [VM] { try await base.listVMs(host: host) }
    public func listVMs(onHosts hosts: Set<String>) async throws(BackendError) -> [VM] { try await base.listVMs(onHosts: hosts) }
    public func host(named name: String) async throws(BackendError) -> Host { try await base.host(named: name) }
    public func hostHealth(_ host: String) async throws(BackendError) -> HostHealth { try await base.hostHealth(host) }
    public func enterMaintenance(host: String, migrateRunningVMs: Bool) async throws(BackendError) {
        try await base.enterMaintenance(host: host, migrateRunningVMs: migrateRunningVMs)
    }
    public func exitMaintenance(host: String) async throws(BackendError) { try await base.exitMaintenance(host: host) }
    public func liveMigrate(vm: String, to host: String) async throws(BackendError) { try await base.liveMigrate(vm: vm, to: host) }
    public func quickMigrate(vm: String, to host: String) async throws(BackendError) { try await base.quickMigrate(vm: vm, to: host) }
    public func moveVM(vm: String, to host: String) async throws(BackendError) { try await base.moveVM(vm: vm, to: host) }
    public func saveState(vm: String) async throws(BackendError) { try await base.saveState(vm: vm) }
    public func shutDown(vm: String) async throws(BackendError) { try await base.shutDown(vm: vm) }
    public func start(vm: String) async throws(BackendError) { try await base.start(vm: vm) }
}
