import ArgumentParser
import Foundation
import PatchFleetCore
import PatchFleetSimulator

/// `patchfleet-bench makespan`: how long a patch night takes with PatchFleet's
/// scheduler, against a lower bound and against the naive plan, on several
/// datacenter shapes with realistic durations on the simulator's virtual clock.
struct MakespanBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "makespan",
        abstract: "Achieved makespan vs its lower bound and vs the naive one-at-a-time plan, per datacenter shape.")

    @Option(help: "Seed for the shapes' VM sizes and the simulated durations.")
    var seed: UInt64 = 2026

    func run() throws {
        print("makespan benchmark: seed \(seed); installs 15-60 min, reboots 5-10 min, live migration 1 GB/s, settle 5 min")
        print("")
        print("shape                 hosts clusters  k  P   makespan      bound      naive   M=ms/bound  naive/ms  violations")
        var worstM = 0.0
        var neverSlower = true
        var slower: [String] = []
        for shape in DatacenterShape.all {
            let lab = shape.lab(seed: seed)
            let job = shape.job()
            let ours = SimulationDriver(scenario: SimulationScenario(seed: seed, lab: lab, job: job)).run()
            let naive = SimulationDriver(scenario: SimulationScenario(seed: seed, lab: lab, job: job),
                                         scheduler: NaiveScheduler()).run()
            let violations = InvariantChecker(policy: job.policy).check(ours).count
                + InvariantChecker(policy: job.policy).check(naive).count
            let makespan = ours.endedAt.seconds(since: ours.startedAt)
            let naiveMakespan = naive.endedAt.seconds(since: naive.startedAt)
            let bound = MakespanBound.of(ours, policy: job.policy)
            let m = makespan / bound
            worstM = max(worstM, m)
            if makespan > naiveMakespan {
                neverSlower = false
                slower.append("\(shape.name) by \(Int(makespan - naiveMakespan)) s")
            }
            let columns = [
                shape.name.padding(toLength: 20, withPad: " ", startingAt: 0),
                String(format: "%6d %8d %2d %2d", lab.inventory.hosts.count, shape.clusters, shape.maxUnavailable,
                       shape.maxParallelClusters),
                hm(makespan).leftPadded(10), hm(bound).leftPadded(10), hm(naiveMakespan).leftPadded(10),
                String(format: "%12.3f %9.2f %11d", m, naiveMakespan / makespan, violations),
            ]
            print(columns.joined(separator: " "))
        }
        print("")
        print("never slower than the naive plan: \(neverSlower ? "yes" : "NO (\(slower.joined(separator: ", ")))")")
        print(String(format: "makespan/bound = %.3f (worst shape)", worstM))
    }

    private func hm(_ seconds: Double) -> String {
        let m = Int(seconds / 60)
        return String(format: "%d:%02d", m / 60, m % 60)
    }
}

/// A seeded datacenter shape: clusters of hosts with VMs sized so that the
/// other nodes can always hold a drained host's VMs.
struct DatacenterShape {
    let name: String
    let clusters: Int
    /// Hosts per cluster; cycled over the clusters.
    let hostsPerCluster: [Int]
    let vmsPerHost: ClosedRange<Int>
    let maxUnavailable: Int
    let maxParallelClusters: Int

    static let all = [
        DatacenterShape(name: "uniform 8x4", clusters: 8, hostsPerCluster: [4], vmsPerHost: 6...12,
                        maxUnavailable: 1, maxParallelClusters: 8),
        DatacenterShape(name: "skewed sizes", clusters: 8, hostsPerCluster: [2, 10, 4, 6, 3, 8, 5, 12], vmsPerHost: 2...16,
                        maxUnavailable: 1, maxParallelClusters: 8),
        DatacenterShape(name: "few slots 12x4", clusters: 12, hostsPerCluster: [3, 6, 4, 5], vmsPerHost: 4...10,
                        maxUnavailable: 1, maxParallelClusters: 3),
        DatacenterShape(name: "wide 4x16, k=2", clusters: 4, hostsPerCluster: [16], vmsPerHost: 4...8,
                        maxUnavailable: 2, maxParallelClusters: 4),
    ]

    func lab(seed: UInt64) -> LabConfiguration {
        var rng = SplitMix(seed: seed ^ UInt64(truncatingIfNeeded: name.hashValue & 0))
        var hosts: [PatchFleetCore.Host] = [], vms: [VM] = [], clusterList: [Cluster] = []
        for c in 0..<clusters {
            let cluster = String(format: "C%02d", c + 1)
            clusterList.append(Cluster(name: cluster))
            let count = hostsPerCluster[c % hostsPerCluster.count]
            for h in 0..<count {
                let host = String(format: "%@-H%02d", cluster, h + 1)
                hosts.append(PatchFleetCore.Host(name: host, cluster: cluster, memoryMB: 524_288))
                // At most ~40% of a host: a cluster of two can still absorb a drain.
                var used = 0
                for v in 0..<rng.next(in: vmsPerHost) {
                    let memory = [4096, 8192, 16384, 32768][rng.next(in: 0...3)]
                    guard used + memory <= 200_000 else { break }
                    used += memory
                    vms.append(VM(name: String(format: "%@-vm%02d", host, v + 1), memoryMB: memory, host: host))
                }
            }
        }
        let inventory = Inventory(clusters: clusterList, hosts: hosts, vms: vms,
                                  collections: [DeviceCollection(name: "All hosts", members: hosts.map(\.name))],
                                  updateLists: [UpdateList(name: "Monthly", updateIds: ["KB1", "KB2"])])
        return LabConfiguration(inventory: inventory, seed: seed)
    }

    func job() -> JobSpec {
        var policy = Policy()
        policy.maxUnavailablePerCluster = maxUnavailable
        policy.maxParallelClusters = maxParallelClusters
        policy.maxFailedHosts = 1_000
        return JobSpec(id: "bench-\(name.replacingOccurrences(of: " ", with: "-"))", targets: JobTargets(collection: "All hosts"),
                       updates: UpdateSelection(updateList: "Monthly"), policy: policy)
    }
}

/// The lower bound a makespan is judged against, from the run's own
/// measured host work. A host occupies one of its cluster's
/// `maxUnavailablePerCluster` (k) slots from its start until it is back in
/// service (precheck, drain, install, reboot, exit), and keeps it for the
/// settle delay after that (the policy: a cluster settles after each return
/// with at most k - 1 others out). Only the last k returns of a cluster can
/// have their settle cut short by the end, so a cluster of n hosts needs at
/// least (Σ work + settle × max(0, n − k)) / k; with k = 1 that is the
/// serial Σ work + settle × (n − 1). A cluster holds one of
/// `maxParallelClusters` (P) slots for all of that, so the job needs at least
/// the longest cluster and at least Σ clusters / P.
enum MakespanBound {
    static func of(_ run: SimulationRun, policy: Policy) -> Double {
        var perCluster: [String: (work: Double, hosts: Int)] = [:]
        for saga in run.sagas {
            guard let cluster = saga.cluster, let start = saga.startedAt else { continue }
            let back = run.history.last { record in
                if case .hostStatus(host: saga.host, from: _, to: .up) = record.change { true } else { false }
            }?.at ?? saga.finishedAt ?? start
            perCluster[cluster, default: (0, 0)].work += back.seconds(since: start)
            perCluster[cluster, default: (0, 0)].hosts += 1
        }
        let k = Double(policy.maxUnavailablePerCluster)
        let clusterBounds = perCluster.values.map { c in
            (c.work + policy.settleDelaySeconds * Double(max(0, c.hosts - policy.maxUnavailablePerCluster))) / k
        }
        let longest = clusterBounds.max() ?? 0
        let spread = clusterBounds.reduce(0, +) / Double(policy.maxParallelClusters)
        return max(longest, spread)
    }
}

/// The naive plan, as Cluster-Aware Updating runs by default: one host at a
/// time per cluster, in listed order, the next after the previous is done and
/// the settle delay has passed; clusters in listed order within the same
/// `maxParallelClusters` limit. No capacity look-ahead, no reordering.
struct NaiveScheduler: SchedulingStrategy {
    func decide(_ input: SchedulingInput) -> SchedulingDecision {
        var decision = SchedulingDecision()
        guard !input.control.cancelled, !input.control.paused else { return decision }
        var order: [String] = []
        var groups: [String: [HostSagaState]] = [:]
        for saga in input.sagas {
            let key = Scheduler.groupKey(saga)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(saga)
        }
        var inProgress = order.filter { key in groups[key]!.contains { !$0.isPending } && groups[key]!.contains { !$0.isDone } }.count
        for key in order {
            let group = groups[key]!
            guard let next = group.first(where: \.isPending), !group.contains(where: \.isActive) else { continue }
            let started = group.contains { !$0.isPending }
            if !started && inProgress >= input.policy.maxParallelClusters { continue }
            if let last = group.compactMap(\.finishedAt).max() {
                let ready = last.adding(seconds: input.policy.settleDelaySeconds)
                if input.now < ready {
                    decision.nextEvaluationAt = min(decision.nextEvaluationAt ?? ready, ready)
                    continue
                }
            }
            if !started { inProgress += 1 }
            decision.start.append(next.host)
        }
        return decision
    }
}

/// A tiny seeded generator, so shapes are the same on every machine.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func nextRaw() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(nextRaw() % UInt64(range.count))
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
