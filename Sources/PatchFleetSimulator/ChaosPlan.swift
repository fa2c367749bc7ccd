import PatchFleetCore

/// The datacenter, job and backend faults of a fault-injection run, from a
/// seed: many clusters patched at once, with migrations that fail, installs
/// that fail once, calls that time out, answers that come late or are lost,
/// and a host that never comes back. Same seed, same plan.
public struct ChaosPlan: Sendable {
    public let lab: LabConfiguration
    public let job: JobSpec

    public init(seed: UInt64, clusters: Int, hostsPerCluster: Int) {
        var rng = SeededGenerator(seed: seed)
        var inventory = Inventory()
        var vmNumber = 0
        for c in 1...clusters {
            let cluster = String(format: "C%02d", c)
            inventory.clusters.append(Cluster(name: cluster))
            for h in 1...hostsPerCluster {
                let host = Host(name: "\(cluster)-H\(h)", cluster: cluster, memoryMB: 131_072)
                inventory.hosts.append(host)
                var load = 0
                for _ in 0..<rng.int(2...5) {
                    let memory = rng.pick([4096, 8192, 16384])
                    guard load + memory <= host.memoryMB * 40 / 100 else { break }
                    vmNumber += 1
                    // Mostly running HA VMs; some stopped HA (Rule 2); rarely a non-HA one (Rule 1).
                    let highlyAvailable = !rng.chance(0.02)
                    let power: PowerState = rng.chance(0.9) ? .running : .stopped
                    if power.consumesMemory { load += memory }
                    inventory.vms.append(VM(name: String(format: "vm%04d", vmNumber), memoryMB: memory, power: power,
                                            highlyAvailable: highlyAvailable, host: host.name))
                }
            }
        }
        inventory.updateLists = [ScenarioGenerator.updateList]
        inventory.collections = [DeviceCollection(name: "All VM hosts", members: inventory.hosts.map(\.name))]

        let hosts = inventory.hosts.map(\.name)
        let running = inventory.vms.filter { $0.power.consumesMemory && $0.highlyAvailable }.map(\.name)
        var faults: [Fault] = []
        for _ in 0..<max(1, hosts.count / 7) {
            switch rng.int(0...5) {
            case 0: faults.append(Fault(.migrationFails, vm: rng.pick(running), times: 1))
            case 1: faults.append(Fault(.installFails, host: rng.pick(hosts), code: "0x80070643",
                                        message: "Fatal error during installation", times: 1))
            case 2: faults.append(Fault(.backendTimeout, host: rng.pick(hosts), times: rng.int(1...2)))
            case 3: faults.append(Fault(.slowResponses, host: rng.pick(hosts), extraSeconds: rng.double(60...300)))
            case 4: faults.append(Fault(.answerLost, host: rng.pick(hosts), times: 1))
            default: faults.append(Fault(.installFails, host: rng.pick(hosts), code: "0x8024200D",
                                         message: "The update could not be downloaded", times: 1))
            }
        }
        faults.append(Fault(.hostDoesNotReturn, host: rng.pick(hosts)))
        lab = LabConfiguration(inventory: inventory, faults: faults, seed: seed)

        var policy = Policy()
        policy.maxUnavailablePerCluster = 1
        policy.maxParallelClusters = clusters
        policy.maxRetriesPerHost = 3
        policy.maxFailedHosts = 2
        policy.migrationFallback = [.liveMigrate, .quickMigrate, .holdHost]
        policy.settleDelaySeconds = 60
        // The run is time-scaled: a 10-second broker restart is well over an
        // hour of saga time at 600x. Tasks may wait that long for an answer
        // before they count as a failed attempt.
        policy.taskTimeoutSeconds = 4 * 3600
        job = JobSpec(id: "chaos-\(seed)", targets: JobTargets(clusters: inventory.clusters.map(\.name)),
                      updates: UpdateSelection(updateList: ScenarioGenerator.updateList.name), policy: policy)
    }
}
