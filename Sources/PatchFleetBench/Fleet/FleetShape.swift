import Foundation
import PatchFleetCore
import PatchFleetSimulator

/// The datacenter the `fleet` and `scale` suites patch: `hosts` hosts spread
/// evenly over `clusters` clusters, `vmsPerHost` small VMs each (room to
/// drain any one host), and backends that answer at once (every simulated
/// duration zero), so what is measured is PatchFleet, not the datacenter.
struct FleetShape {
    let hosts: Int
    let clusters: Int
    let vmsPerHost: Int

    func inventory() -> Inventory {
        var inventory = Inventory()
        inventory.hosts.reserveCapacity(hosts)
        inventory.vms.reserveCapacity(hosts * vmsPerHost)
        for c in 0..<clusters { inventory.clusters.append(Cluster(name: String(format: "C%04d", c + 1))) }
        for h in 0..<hosts {
            let cluster = inventory.clusters[h % clusters].name
            let host = String(format: "%@-H%03d", cluster, h / clusters + 1)
            inventory.hosts.append(Host(name: host, cluster: cluster, memoryMB: 262_144))
            for v in 0..<vmsPerHost {
                inventory.vms.append(VM(name: String(format: "%@-vm%02d", host, v + 1), memoryMB: 4096, host: host))
            }
        }
        inventory.collections = [DeviceCollection(name: "All hosts", members: inventory.hosts.map(\.name))]
        inventory.updateLists = [UpdateList(name: "Monthly", updateIds: ["KB1", "KB2"])]
        return inventory
    }

    func lab(seed: UInt64 = 7) -> LabConfiguration {
        LabConfiguration(inventory: inventory(), durations: .instant, seed: seed)
    }

    /// One slot per cluster, every cluster at once, no settle delay: the job
    /// is as parallel as the policy allows, so the fleet is the bottleneck.
    func job(id: String) -> JobSpec {
        var policy = Policy()
        policy.maxParallelClusters = clusters
        policy.settleDelaySeconds = 0
        policy.pollIntervalSeconds = 0.001  // installs are instant: poll again at once
        policy.maxFailedHosts = hosts
        return JobSpec(id: id, targets: JobTargets(collection: "All hosts"), updates: UpdateSelection(updateList: "Monthly"),
                       policy: policy)
    }
}
