/// Where a host stands from the virtualization manager's point of view.
public enum HostStatus: String, Codable, Sendable, CaseIterable {
    /// In service: may run VMs and receive migrations.
    case up
    /// Cluster node paused by an administrator (no new VMs, VMs keep running).
    case paused
    /// Entering maintenance: VMs are being moved off.
    case draining
    /// In maintenance: out of service, no VMs placed on it.
    case maintenance
    /// Restarting; does not answer.
    case rebooting
    /// Does not answer at all.
    case down
}

public enum PowerState: String, Codable, Sendable, CaseIterable {
    case running, stopped, saved, paused

    /// Running and paused VMs hold their memory on the host; stopped and
    /// saved ones do not.
    public var consumesMemory: Bool { self == .running || self == .paused }
}

public struct Cluster: Codable, Sendable, Hashable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct Host: Codable, Sendable, Hashable {
    public var name: String
    /// `nil` for a standalone host: it cannot live-migrate anything.
    public var cluster: String?
    public var memoryMB: Int
    public var status: HostStatus
    public var healthy: Bool

    public init(name: String, cluster: String?, memoryMB: Int, status: HostStatus = .up, healthy: Bool = true) {
        self.name = name
        self.cluster = cluster
        self.memoryMB = memoryMB
        self.status = status
        self.healthy = healthy
    }

    public var isStandalone: Bool { cluster == nil }

    /// In service and able to take VMs: never choose any other host as a
    /// migration target (not in maintenance, draining, rebooting or unhealthy).
    public var canReceiveVMs: Bool { status == .up && healthy }

    enum CodingKeys: String, CodingKey { case name, cluster, memoryMB, status, healthy }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        cluster = try c.decodeIfPresent(String.self, forKey: .cluster)
        memoryMB = try c.decode(Int.self, forKey: .memoryMB)
        status = try c.value(.status, default: .up)
        healthy = try c.value(.healthy, default: true)
    }
}

public struct VM: Codable, Sendable, Hashable {
    public var name: String
    public var memoryMB: Int
    public var power: PowerState
    public var highlyAvailable: Bool
    public var host: String
    public var tags: [String]

    public init(name: String, memoryMB: Int, power: PowerState = .running, highlyAvailable: Bool = true,
                host: String, tags: [String] = []) {
        self.name = name
        self.memoryMB = memoryMB
        self.power = power
        self.highlyAvailable = highlyAvailable
        self.host = host
        self.tags = tags
    }

    enum CodingKeys: String, CodingKey { case name, memoryMB, power, highlyAvailable, host, tags }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        memoryMB = try c.decode(Int.self, forKey: .memoryMB)
        power = try c.value(.power, default: .running)
        highlyAvailable = try c.value(.highlyAvailable, default: true)
        host = try c.decode(String.self, forKey: .host)
        tags = try c.value(.tags, default: [])
    }
}

/// A patch-manager device collection ("VM Hosts in Building 44").
public struct DeviceCollection: Codable, Sendable, Hashable {
    public var name: String
    public var members: [String]
    public init(name: String, members: [String]) {
        self.name = name
        self.members = members
    }
}

/// A named set of updates (a ConfigMgr software update group / deployment template).
public struct UpdateList: Codable, Sendable, Hashable {
    public var name: String
    public var updateIds: [String]
    public init(name: String, updateIds: [String]) {
        self.name = name
        self.updateIds = updateIds
    }
}

/// The datacenter as the virtualization and update managers see it.
public struct Inventory: Codable, Sendable, Hashable {
    public var clusters: [Cluster]
    public var hosts: [Host]
    public var vms: [VM]
    public var collections: [DeviceCollection]
    public var updateLists: [UpdateList]

    public init(clusters: [Cluster] = [], hosts: [Host] = [], vms: [VM] = [],
                collections: [DeviceCollection] = [], updateLists: [UpdateList] = []) {
        self.clusters = clusters
        self.hosts = hosts
        self.vms = vms
        self.collections = collections
        self.updateLists = updateLists
    }

    enum CodingKeys: String, CodingKey { case clusters, hosts, vms, collections, updateLists }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        clusters = try c.value(.clusters, default: [])
        hosts = try c.value(.hosts, default: [])
        vms = try c.value(.vms, default: [])
        collections = try c.value(.collections, default: [])
        updateLists = try c.value(.updateLists, default: [])
    }

    // MARK: Queries (linear scans: inventories are hundreds of objects, and
    // keeping the model a plain value keeps it trivially Codable and Sendable).

    public func host(named name: String) -> Host? { hosts.first { $0.name == name } }
    public func vm(named name: String) -> VM? { vms.first { $0.name == name } }
    public func vms(on host: String) -> [VM] { vms.filter { $0.host == host } }
    public func hosts(inCluster cluster: String) -> [Host] { hosts.filter { $0.cluster == cluster } }

    public func usedMemoryMB(on host: String) -> Int {
        vms.lazy.filter { $0.host == host && $0.power.consumesMemory }.reduce(0) { $0 + $1.memoryMB }
    }

    public func freeMemoryMB(on host: String) -> Int {
        guard let h = self.host(named: host) else { return 0 }
        return h.memoryMB - usedMemoryMB(on: host)
    }

    /// The snapshot a precheck needs: the host's cluster (or just the host if standalone).
    public func clusterSnapshot(of hostName: String) -> ClusterSnapshot {
        guard let host = host(named: hostName) else { return ClusterSnapshot(hosts: [], vms: []) }
        let members = host.cluster.map { hosts(inCluster: $0) } ?? [host]
        let names = Set(members.map(\.name))
        return ClusterSnapshot(hosts: members, vms: vms.filter { names.contains($0.host) })
    }
}

/// The part of the inventory a host's precheck looks at.
public struct ClusterSnapshot: Codable, Sendable, Hashable {
    public var hosts: [Host]
    public var vms: [VM]
    public init(hosts: [Host], vms: [VM]) {
        self.hosts = hosts
        self.vms = vms
    }

    public var inventory: Inventory { Inventory(hosts: hosts, vms: vms) }
}
