import PatchFleetCore
import Synchronization

/// A zero-latency datacenter for the `scale` suite: both backend protocols
/// over indexes, so 200,000 VMs cost the coordinator what they cost it,
/// not a linear scan per call (the whole VM list is the stored array, shared
/// copy-on-write: the coordinator's inventory read costs this fake nothing) (the simulator keeps its inventory as plain
/// arrays: right for hundreds of objects and its invariant replay, too slow
/// to stand in for a VMM server at this size). The same rules a manager
/// applies that PatchFleet relies on: no VM onto a host out of service or
/// without room, cordon while VMs run, no reboot of a host running VMs.
final class IndexedDatacenter: VirtualizationBackend, UpdateBackend {
    private struct State {
        var clusters: [Cluster]
        var hostOrder: [String]
        var hosts: [String: Host]
        var clusterHosts: [String: [String]]
        /// Every VM in the inventory's order, and where each name is in it.
        var vms: [VM]
        var vmIndex: [String: Int]
        /// Each host's VMs (positions in `vms`), kept sorted by VM name.
        var vmsOn: [String: [Int]]
        var installed: [String: Set<String>] = [:]
        var pendingReboot: Set<String> = []
        var collections: [String: Set<String>] = [:]
        var members: [String: [String]] = [:]
        var operations = 0

        func used(on host: String) -> Int {
            vmsOn[host, default: []].reduce(0) { total, index in
                vms[index].power.consumesMemory ? total + vms[index].memoryMB : total
            }
        }

        func running(on host: String) -> [String] {
            vmsOn[host, default: []].filter { vms[$0].power.consumesMemory }.map { vms[$0].name }
        }
    }
    private let state: Mutex<State>

    init(_ inventory: Inventory) {
        var s = State(clusters: inventory.clusters, hostOrder: inventory.hosts.map(\.name), hosts: [:], clusterHosts: [:],
                      vms: inventory.vms, vmIndex: [:], vmsOn: [:])
        for host in inventory.hosts {
            s.hosts[host.name] = host
            if let cluster = host.cluster { s.clusterHosts[cluster, default: []].append(host.name) }
        }
        for (index, vm) in inventory.vms.enumerated() {
            s.vmIndex[vm.name] = index
            s.vmsOn[vm.host, default: []].append(index)
        }
        for host in s.vmsOn.keys { s.vmsOn[host]!.sort { s.vms[$0].name < s.vms[$1].name } }
        for collection in inventory.collections {
            s.members[collection.name] = collection.members
            s.collections[collection.name] = Set(collection.members)
        }
        state = Mutex(s)
    }

    /// Backend calls answered so far.
    var operations: Int { state.withLock { $0.operations } }

    private func with<T>(_ body: (inout State) throws(BackendError) -> T) throws(BackendError) -> T {
        try state.withLock { (s: inout State) throws(BackendError) -> T in
            s.operations += 1
            return try body(&s)
        }
    }

    private static func host(_ name: String, _ s: State) throws(BackendError) -> Host {
        guard let host = s.hosts[name] else { throw BackendError(.notFound, "Host '\(name)' not found") }
        return host
    }

    // MARK: VirtualizationBackend

    func listClusters() async throws(BackendError) -> [Cluster] { try with { $0.clusters } }

    func listHosts(cluster: String?) async throws(BackendError) -> [Host] {
        try with { s in
            let names = cluster.map { s.clusterHosts[$0] ?? [] } ?? s.hostOrder
            return names.compactMap { s.hosts[$0] }
        }
    }

    func listVMs(host: String?) async throws(BackendError) -> [VM] {
        try with { s in
            guard let host else { return s.vms }
            return s.vmsOn[host, default: []].map { s.vms[$0] }
        }
    }

    func listVMs(onHosts hosts: Set<String>) async throws(BackendError) -> [VM] {
        try with { s in hosts.sorted().flatMap { s.vmsOn[$0, default: []].map { s.vms[$0] } } }
    }

    func host(named name: String) async throws(BackendError) -> Host { try with { s throws(BackendError) in try Self.host(name, s) } }

    func hostHealth(_ host: String) async throws(BackendError) -> HostHealth {
        try with { s throws(BackendError) in
            let info = try Self.host(host, s)
            return HostHealth(responding: true, healthy: info.healthy && info.status == .up, detail: info.status.rawValue)
        }
    }

    func enterMaintenance(host: String, migrateRunningVMs: Bool) async throws(BackendError) {
        try with { s throws(BackendError) in
            let info = try Self.host(host, s)
            guard info.status == .up || info.status == .paused || info.status == .maintenance else {
                throw BackendError(.invalidState, "Host '\(host)' is \(info.status.rawValue)")
            }
            // Cordon while VMs run; maintenance mode proper once empty.
            s.hosts[host]!.status = s.running(on: host).isEmpty ? .maintenance : .paused
        }
    }

    func exitMaintenance(host: String) async throws(BackendError) {
        try with { s throws(BackendError) in
            _ = try Self.host(host, s)
            s.hosts[host]!.status = .up
        }
    }

    func liveMigrate(vm: String, to host: String) async throws(BackendError) { try move(vm, to: host) }
    func quickMigrate(vm: String, to host: String) async throws(BackendError) { try move(vm, to: host) }
    func moveVM(vm: String, to host: String) async throws(BackendError) { try move(vm, to: host) }

    private func move(_ name: String, to target: String) throws(BackendError) {
        try with { s throws(BackendError) in
            guard let index = s.vmIndex[name] else { throw BackendError(.notFound, "VM '\(name)' not found") }
            let vm = s.vms[index]
            let destination = try Self.host(target, s)
            guard destination.canReceiveVMs else {
                throw BackendError(.invalidState, "Host '\(target)' is \(destination.status.rawValue); cannot place '\(name)'")
            }
            if vm.power.consumesMemory && s.used(on: target) + vm.memoryMB > destination.memoryMB {
                throw BackendError(.insufficientCapacity, "Host '\(target)' lacks memory for '\(name)'")
            }
            s.vmsOn[vm.host]?.removeAll { $0 == index }
            let onTarget = s.vmsOn[target, default: []]
            let position = onTarget.firstIndex { s.vms[$0].name > name } ?? onTarget.endIndex
            s.vmsOn[target, default: []].insert(index, at: position)
            s.vms[index].host = target
        }
    }

    func saveState(vm: String) async throws(BackendError) { try power(vm, .saved) }
    func shutDown(vm: String) async throws(BackendError) { try power(vm, .stopped) }
    func start(vm: String) async throws(BackendError) { try power(vm, .running) }

    private func power(_ name: String, _ to: PowerState) throws(BackendError) {
        try with { s throws(BackendError) in
            guard let index = s.vmIndex[name] else { throw BackendError(.notFound, "VM '\(name)' not found") }
            s.vms[index].power = to
        }
    }

    // MARK: UpdateBackend

    func collectionMembers(_ collection: String) async throws(BackendError) -> [String] {
        try with { s throws(BackendError) in
            guard let members = s.members[collection] else { throw BackendError(.notFound, "Collection '\(collection)' does not exist") }
            return members
        }
    }

    func ensureCollection(_ collection: String) async throws(BackendError) {
        try with { s in
            if s.members[collection] == nil {
                s.members[collection] = []
                s.collections[collection] = []
            }
        }
    }

    func addHost(_ host: String, toCollection collection: String) async throws(BackendError) {
        try with { s throws(BackendError) in
            guard s.members[collection] != nil else { throw BackendError(.notFound, "Collection '\(collection)' does not exist") }
            if s.collections[collection]!.insert(host).inserted { s.members[collection]!.append(host) }
        }
    }

    func refreshPolicy(host: String) async throws(BackendError) { try with { s throws(BackendError) in _ = try Self.host(host, s) } }

    /// Installs at once; every host then wants one reboot (the common case).
    func triggerInstall(host: String, updateIds: [String]) async throws(BackendError) {
        try with { s throws(BackendError) in
            _ = try Self.host(host, s)
            s.installed[host, default: []].formUnion(updateIds)
            s.pendingReboot.insert(host)
        }
    }

    func compliance(host: String, updateIds: [String]) async throws(BackendError) -> ComplianceReport {
        try with { s in
            let done = s.installed[host, default: []]
            return ComplianceReport(installed: updateIds.filter(done.contains), pending: updateIds.filter { !done.contains($0) },
                                    failed: [], pendingReboot: s.pendingReboot.contains(host))
        }
    }

    func pendingReboot(host: String) async throws(BackendError) -> Bool { try with { $0.pendingReboot.contains(host) } }

    /// Back at once, in the status it had (maintenance).
    func reboot(host: String) async throws(BackendError) {
        try with { s throws(BackendError) in
            _ = try Self.host(host, s)
            let running = s.running(on: host)
            guard running.isEmpty else {
                throw BackendError(.invalidState, "Host '\(host)' still runs \(running.joined(separator: ", ")); refusing to restart")
            }
            s.pendingReboot.remove(host)
        }
    }
}
