/// The inventory cut into one slice per cluster, in one pass. The scheduler
/// asks every capacity and load question of a single cluster; asking them of
/// the whole inventory scanned every VM of the datacenter per host, which
/// made one decision on 10,000 hosts and 200,000 VMs take seconds.
/// Slices keep the inventory's order, so decisions are the same as before.
///
/// The same pass sums what the scheduler asks of each host: its estimated
/// drain (the running HA VMs, added in the inventory's order, so the sums
/// are `DurationModel.drainSeconds`' to the bit) and the load that orders
/// hosts (the running VMs' memory and count). Asking each cluster again
/// hashed every VM's host name twice more per decision (`scale` bench).
struct ClusterIndex {
    private var slices: [String: ClusterSnapshot] = [:]
    /// Each host name's position in `drain` and `load`.
    private var slotOfHost: [String: Int] = [:]
    private var drain: [Double] = []
    private var load: [Scheduler.Load] = []

    /// Each host slot's cluster slice (nil: standalone), and the slices' names.
    private var sliceOfSlot: [Int?] = []
    private var sliceNames: [String] = []

    init(_ inventory: Inventory, estimates: DurationEstimates) {
        var sliceHosts: [[Host]] = []
        var sliceVMs: [[VM]] = []
        var sliceOfCluster: [String: Int] = [:]
        func slot(_ host: String) -> Int {
            if let slot = slotOfHost[host] { return slot }
            slotOfHost[host] = sliceOfSlot.count
            sliceOfSlot.append(nil)
            drain.append(0)
            load.append(Scheduler.Load(memoryMB: 0, vmCount: 0))
            return sliceOfSlot.count - 1
        }
        slotOfHost.reserveCapacity(inventory.hosts.count)
        // A host name listed twice (in two clusters) has one slot, and its
        // VMs count in the cluster of its last listing, in the slices and in
        // the sums alike: the rule the slices always had.
        for host in inventory.hosts {
            let hostSlot = slot(host.name)
            guard let cluster = host.cluster else { continue }
            let slice: Int
            if let existing = sliceOfCluster[cluster] {
                slice = existing
            } else {
                slice = sliceNames.count
                sliceOfCluster[cluster] = slice
                sliceNames.append(cluster)
                sliceHosts.append([])
                sliceVMs.append([])
            }
            sliceHosts[slice].append(host)
            sliceOfSlot[hostSlot] = slice
        }
        // Managers list a host's VMs together: the previous VM's slot is
        // reused without hashing the name again (hashing every VM's host
        // was most of building the index at 200,000 VMs).
        var previous: (host: String, slot: Int)?
        for vm in inventory.vms {
            let hostSlot: Int
            if let previous, previous.host == vm.host {
                hostSlot = previous.slot
            } else {
                hostSlot = slot(vm.host)
                previous = (vm.host, hostSlot)
            }
            if vm.power.consumesMemory {
                if vm.highlyAvailable {
                    drain[hostSlot] = drain[hostSlot] + estimates.perVMOverheadSeconds
                        + Double(vm.memoryMB) / estimates.liveMigrationMBPerSecond
                }
                load[hostSlot].add(vm)
            }
            if let slice = sliceOfSlot[hostSlot] { sliceVMs[slice].append(vm) }
        }
        for (slice, name) in sliceNames.enumerated() {
            slices[name] = ClusterSnapshot(hosts: sliceHosts[slice], vms: sliceVMs[slice])
        }
    }

    func snapshot(_ cluster: String) -> ClusterSnapshot {
        slices[cluster] ?? ClusterSnapshot(hosts: [], vms: [])
    }

    /// The host's slot, if its VMs are in `cluster`'s slice (any slot for
    /// nil, the whole inventory). A saga's cluster is the one it was
    /// submitted in; a host since moved to another cluster has no VMs in
    /// its old cluster's slice, and the sums must say so.
    private func slot(_ host: String, inCluster cluster: String?) -> Int? {
        guard let slot = slotOfHost[host] else { return nil }
        if let cluster {
            guard let slice = sliceOfSlot[slot], sliceNames[slice] == cluster else { return nil }
        }
        return slot
    }

    /// `DurationModel.drainSeconds` of this host over `cluster`'s slice (or
    /// the whole inventory for nil).
    func drainSeconds(_ host: String, inCluster cluster: String?) -> Double {
        slot(host, inCluster: cluster).map { drain[$0] } ?? 0
    }

    /// The running VMs' memory and count on this host, over `cluster`'s
    /// slice (or the whole inventory for nil): what `Scheduler.order` sums.
    func load(_ host: String, inCluster cluster: String?) -> Scheduler.Load {
        slot(host, inCluster: cluster).map { load[$0] } ?? Scheduler.Load(memoryMB: 0, vmCount: 0)
    }
}
