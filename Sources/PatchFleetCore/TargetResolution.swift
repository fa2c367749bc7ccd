/// A host the job will patch, with the cluster it belongs to (nil: standalone).
public struct TargetHost: Codable, Sendable, Hashable {
    public var host: String
    public var cluster: String?
    public init(host: String, cluster: String?) {
        self.host = host
        self.cluster = cluster
    }
}

public enum TargetResolver {
    /// Expands the job's targets against the inventory, in inventory order
    /// (stable), without duplicates, each under the virtualization manager's
    /// name for it: a job or a collection may say "HV01" for VMM's
    /// "hv01.contoso.com" (`HostName`). Unknown and ambiguous names are
    /// validation problems, reported by `JobSpecValidator.validate(_:against:)`,
    /// and skipped here.
    public static func resolve(_ spec: JobSpec, in inventory: Inventory) -> [TargetHost] {
        let wanted: Set<String>
        if let collection = spec.targets.collection {
            wanted = hostNames(inventory.collections.first { $0.name == collection }?.members ?? [], in: inventory)
        } else if let clusters = spec.targets.clusters {
            let clusterSet = Set(clusters)
            wanted = Set(inventory.hosts.filter { $0.cluster.map(clusterSet.contains) ?? false }.map(\.name))
        } else {
            wanted = hostNames(spec.targets.hosts ?? [], in: inventory)
        }
        return inventory.hosts.filter { wanted.contains($0.name) }.map { TargetHost(host: $0.name, cluster: $0.cluster) }
    }

    /// The inventory's names for the names given, where each names one host.
    static func hostNames(_ names: [String], in inventory: Inventory) -> Set<String> {
        let index = HostNameIndex(inventory.hosts)
        return Set(names.compactMap { name in
            if case .found(let host) = index.lookup(name) { return host }
            return nil
        })
    }

    /// The update ids a job deploys: the named list plus any explicit ids, de-duplicated in order.
    public static func updateIds(_ spec: JobSpec, in inventory: Inventory) -> [String] {
        var ids: [String] = []
        if let list = spec.updates.updateList {
            ids += inventory.updateLists.first { $0.name == list }?.updateIds ?? []
        }
        ids += spec.updates.updateIds ?? []
        var seen = Set<String>()
        return ids.filter { seen.insert($0).inserted }
    }
}
