import PatchFleetCore

/// Generates whole scenarios from a seed: a datacenter, a job with a random
/// policy, a fault schedule and job controls. Same seed, same scenario.
public enum ScenarioGenerator {
    public static let updateList = UpdateList(name: "2026-11 Cumulative", updateIds: ["KB5046613", "KB5046540", "KB5044099"])

    public static func scenario(seed: UInt64) -> SimulationScenario {
        var rng = SeededGenerator(seed: seed)
        let inventory = datacenter(&rng)
        let job = job(&rng, inventory: inventory)
        let faults = faults(&rng, inventory: inventory)
        var controls: [ScheduledControl] = []
        if rng.chance(0.1) {
            let at = rng.double(0...20_000)
            controls += [ScheduledControl(atSeconds: at, action: .pause),
                         ScheduledControl(atSeconds: at + rng.double(300...7200), action: .resume)]
        }
        if rng.chance(0.08) {
            controls.append(ScheduledControl(atSeconds: rng.double(0...20_000), action: .cancel))
        }
        var durations = SimulatedDurations()
        durations.pendingRebootProbability = rng.pick([0.0, 0.8, 1.0])
        let lab = LabConfiguration(inventory: inventory, faults: faults, durations: durations, seed: seed)
        return SimulationScenario(seed: seed, lab: lab, job: job, controls: controls, duplicateAnswers: rng.chance(0.3))
    }

    static func datacenter(_ rng: inout SeededGenerator) -> Inventory {
        var inventory = Inventory()
        var vmNumber = 0
        func addVMs(to host: Host, maxCount: Int, haShare: Double, rng: inout SeededGenerator) -> [VM] {
            var vms: [VM] = []
            var load = 0
            for _ in 0..<rng.int(0...maxCount) {
                let memory = rng.pick([2048, 4096, 8192, 16384, 32768])
                guard load + memory <= host.memoryMB * 55 / 100 else { break }
                let power: PowerState = rng.chance(0.8) ? .running : rng.pick([.stopped, .saved])
                if power.consumesMemory { load += memory }
                vmNumber += 1
                vms.append(VM(name: String(format: "vm%03d", vmNumber), memoryMB: memory, power: power,
                              highlyAvailable: host.isStandalone ? false : rng.chance(haShare), host: host.name,
                              tags: rng.chance(0.2) ? ["sql"] : []))
            }
            return vms
        }
        for c in 1...rng.int(1...4) {
            let cluster = "C\(c)"
            inventory.clusters.append(Cluster(name: cluster))
            for h in 1...rng.int(2...5) {
                var host = Host(name: "\(cluster)-H\(h)", cluster: cluster, memoryMB: rng.pick([65536, 131072, 262144]))
                let vms = addVMs(to: host, maxCount: 6, haShare: 0.85, rng: &rng)
                // Now and then an administrator got there first.
                if rng.chance(0.04) && !vms.contains(where: \.power.consumesMemory) {
                    host.status = rng.pick([.maintenance, .paused])
                } else if rng.chance(0.02) {
                    host.healthy = false
                }
                inventory.hosts.append(host)
                inventory.vms += vms
            }
        }
        for s in 0..<rng.int(0...2) {
            let host = Host(name: "S\(s + 1)", cluster: nil, memoryMB: 65536)
            inventory.hosts.append(host)
            inventory.vms += addVMs(to: host, maxCount: 3, haShare: 0, rng: &rng)
        }
        inventory.collections = [DeviceCollection(name: "All VM hosts", members: inventory.hosts.map(\.name))]
        inventory.updateLists = [updateList]
        return inventory
    }

    static func job(_ rng: inout SeededGenerator, inventory: Inventory) -> JobSpec {
        var policy = Policy()
        policy.maxUnavailablePerCluster = rng.chance(0.7) ? 1 : 2
        policy.maxParallelClusters = rng.int(1...3)
        policy.nonHighlyAvailableVMs = rng.pick(NonHighlyAvailableVMPolicy.allCases)
        policy.stoppedHighlyAvailableVMs = rng.pick(StoppedHighlyAvailableVMPolicy.allCases)
        policy.failback = rng.chance(0.8) ? .original : .none
        policy.standaloneHosts = rng.pick(StandaloneHostPolicy.allCases)
        policy.onFailure = rng.pick(FailurePolicy.allCases)
        policy.maxFailedHosts = rng.int(1...3)
        policy.maxRetriesPerHost = rng.int(0...2)
        policy.maxRebootsPerHost = rng.int(1...3)
        policy.drainTimeoutSeconds = rng.pick([120, 3600])
        policy.vmMigrationTimeoutSeconds = rng.pick([20, 900])
        policy.migrationFallback = rng.pick([
            [.liveMigrate, .holdHost],
            [.liveMigrate, .quickMigrate, .holdHost],
            [.liveMigrate, .quickMigrate, .saveState, .holdHost],
            [.liveMigrate, .quickMigrate, .saveState, .shutDown, .holdHost],
        ])
        if rng.chance(0.2) { policy.vmOverrides = [VMOverride(tag: "sql", fallback: [.liveMigrate, .holdHost])] }
        policy.capacityHeadroomPercent = rng.pick([0, 10, 20])
        policy.settleDelaySeconds = rng.pick([0, 300])
        if rng.chance(0.15) {
            let start = Instant(secondsSinceEpoch: 1_800_000_000)
            policy.maintenanceWindow = MaintenanceWindow(start: start.adding(seconds: rng.pick([0, 1800])),
                                                         end: start.adding(seconds: rng.double(7200...28_800)))
        }
        let targets: JobTargets
        switch rng.int(0...9) {
        case 0...5: targets = JobTargets(clusters: inventory.clusters.map(\.name))
        case 6...7: targets = JobTargets(collection: "All VM hosts")
        default:
            let some = inventory.hosts.filter { _ in rng.chance(0.6) }.map(\.name)
            targets = JobTargets(hosts: some.isEmpty ? [inventory.hosts[0].name] : some)
        }
        return JobSpec(id: "job-\(rng.int(1000...9999))", targets: targets,
                       updates: UpdateSelection(updateList: updateList.name), policy: policy)
    }

    static func faults(_ rng: inout SeededGenerator, inventory: Inventory) -> [Fault] {
        let hosts = inventory.hosts.map(\.name)
        let vms = inventory.vms.map(\.name)
        var faults: [Fault] = []
        for _ in 0..<rng.int(0...4) {
            switch rng.int(0...8) {
            case 0 where !vms.isEmpty: faults.append(Fault(.migrationFails, vm: rng.pick(vms), times: rng.int(1...3)))
            case 1: faults.append(Fault(.installFails, host: rng.pick(hosts), code: "0x80070643",
                                        message: "Fatal error during installation", times: rng.int(1...3)))
            case 2: faults.append(Fault(.stuckPendingReboot, host: rng.pick(hosts)))
            case 3: faults.append(Fault(.hostDoesNotReturn, host: rng.pick(hosts)))
            case 4 where !vms.isEmpty: faults.append(Fault(.vmMovedByOthers, vm: rng.pick(vms), atSeconds: rng.double(0...20_000)))
            case 5 where !vms.isEmpty: faults.append(Fault(.vmDeleted, vm: rng.pick(vms), atSeconds: rng.double(0...20_000)))
            case 6: faults.append(Fault(.backendTimeout, host: rng.pick(hosts), times: rng.int(1...2)))
            case 7: faults.append(Fault(.slowResponses, host: rng.pick(hosts), extraSeconds: rng.double(30...300)))
            case 8: faults.append(Fault(.answerLost, host: rng.pick(hosts), times: rng.int(1...3)))
            default: break
            }
        }
        return faults
    }
}
