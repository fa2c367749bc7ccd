/// The job-level switches a submitter can flip while a job runs.
public struct JobControl: Codable, Sendable, Hashable {
    public var paused: Bool
    public var cancelled: Bool
    public init(paused: Bool = false, cancelled: Bool = false) {
        self.paused = paused
        self.cancelled = cancelled
    }
}

/// Everything the scheduler decides from. It reads nothing else.
public struct SchedulingInput: Sendable {
    public var policy: Policy
    public var sagas: [HostSagaState]
    public var inventory: Inventory
    public var now: Instant
    public var control: JobControl

    public init(policy: Policy, sagas: [HostSagaState], inventory: Inventory, now: Instant, control: JobControl = JobControl()) {
        self.policy = policy
        self.sagas = sagas
        self.inventory = inventory
        self.now = now
        self.control = control
    }
}

public struct HostDeferral: Codable, Sendable, Hashable {
    public var host: String
    public var reason: String
    public init(host: String, reason: String) {
        self.host = host
        self.reason = reason
    }
}

public struct SchedulingDecision: Sendable, Hashable {
    /// Hosts to start now, in order.
    public var start: [String] = []
    /// Hosts that will never start in this job (cluster stopped, window closed): skip them.
    public var skip: [HostDeferral] = []
    /// Hosts that cannot start yet, and why. If nothing else is in flight when
    /// the job goes quiet, the caller skips them with this reason.
    public var waiting: [HostDeferral] = []
    /// When to ask again even if no saga changes (settle delay ends, window opens).
    public var nextEvaluationAt: Instant?

    public init() {}

    mutating func wake(at instant: Instant) {
        nextEvaluationAt = min(nextEvaluationAt ?? instant, instant)
    }
}

/// Decides which hosts start now. A protocol so a deliberately broken variant
/// can be injected to prove the simulation suite catches it.
public protocol SchedulingStrategy: Sendable {
    func decide(_ input: SchedulingInput) -> SchedulingDecision
}

/// The real scheduler. Pure: same input, same decision.
///
/// Rules, in the order they are applied:
/// 1. Nothing starts in a dry run, while the job is paused or cancelled, or
///    outside the maintenance window.
/// 2. A cluster stops (its pending hosts are skipped) after `maxFailedHosts` failures.
/// 3. At most `maxParallelClusters` clusters are in progress at once; a started
///    cluster keeps its slot until its last host is done.
/// 4. Health gate: no host of a cluster starts while another of its hosts is
///    down, rebooting or unhealthy for a reason of its own. Hosts this job has
///    out of service (in flight, or held in our maintenance) do not close the
///    gate: they are counted by rule 5 instead, or a second slot would sit
///    idle through every reboot of the first.
/// 5. Never more than `maxUnavailablePerCluster` hosts out of service, counting
///    hosts already out of service for other reasons. A host that came back
///    (maintenance exited, health checked) less than `settleDelaySeconds`
///    ago still holds its slot: with one slot that is the settle delay
///    between consecutive hosts; with k slots the cluster settles after each
///    return with at most k - 1 others out. Its failback (Rule 3) may run on
///    past that: the host is in service, and rule 6 keeps any host holding
///    its VMs from being drained meanwhile.
/// 6. No drain without capacity: the host's running HA VMs must fit on the
///    remaining in-service nodes with the configured headroom, on the cluster
///    as it will be once hosts already draining have moved their VMs (two
///    drains must fit together). No drain of a host holding VMs another saga
///    still has to move home (Rule 3): both sagas would call them theirs.
/// 7. Inside a maintenance window, a host starts only if its predicted duration fits.
/// 8. Order: hosts with less memory and fewer VMs to move first (shorter
///    drains finish sooner and free the slot), then by name for stability;
///    clusters with the most remaining work first, so the longest one does
///    not start last.
public struct Scheduler: SchedulingStrategy {
    public init() {}

    public func decide(_ input: SchedulingInput) -> SchedulingDecision {
        var decision = SchedulingDecision()
        let pending = input.sagas.filter(\.isPending)
        guard !pending.isEmpty, !input.control.cancelled else { return decision }
        let policy = input.policy
        if policy.dryRun {
            // A dry run touches nothing: the plan comes from DryRunPlanner.
            decision.skip = pending.map { HostDeferral(host: $0.host, reason: "dry run: nothing is touched (see the dry-run plan)") }
            return decision
        }
        if input.control.paused {
            decision.waiting = pending.map { HostDeferral(host: $0.host, reason: "job paused") }
            return decision
        }
        if let window = policy.maintenanceWindow {
            if input.now >= window.end {
                decision.skip = pending.map { HostDeferral(host: $0.host, reason: "maintenance window closed at \(window.end)") }
                return decision
            }
            if input.now < window.start {
                decision.waiting = pending.map { HostDeferral(host: $0.host, reason: "maintenance window opens at \(window.start)") }
                decision.wake(at: window.start)
                return decision
            }
        }

        let groups = Dictionary(grouping: input.sagas, by: Scheduler.groupKey)
        // One pass over the inventory, then every question is asked of one
        // cluster's slice: scanning all VMs per host made a decision on
        // 10,000 hosts quadratic (see docs/benchmarks.md, `scale`).
        let index = ClusterIndex(input.inventory, estimates: policy.estimates)
        // A cluster is under way once one of its hosts started: one skipped
        // before it ever started (nothing to install, a stopped cluster)
        // holds no cluster slot.
        let started = groups.mapValues { group in group.contains(where: \.hasStarted) }
        let work = groups.mapValues { remainingWork($0, input, index) }
        let orderedKeys = groups.keys.sorted { lhs, rhs in
            let lStarted = started[lhs]!, rStarted = started[rhs]!
            if lStarted != rStarted { return lStarted }
            let lWork = work[lhs]!, rWork = work[rhs]!
            if lWork != rWork { return lWork > rWork }
            return lhs < rhs
        }
        var clustersInProgress = groups.values.filter { group in
            group.contains(where: \.hasStarted) && group.contains { !$0.isDone }
        }.count

        for key in orderedKeys {
            let group = groups[key]!
            let waitingHosts = group.filter(\.isPending)
            guard !waitingHosts.isEmpty else { continue }
            let failures = group.filter { $0.outcome?.countsAsFailure == true }.count
            if failures >= policy.maxFailedHosts {
                decision.skip += waitingHosts.map {
                    HostDeferral(host: $0.host, reason: "cluster stopped after \(failures) failed host(s) (maxFailedHosts: \(policy.maxFailedHosts))")
                }
                continue
            }
            var inProgress = group.contains(where: \.hasStarted)
            if !inProgress && clustersInProgress >= policy.maxParallelClusters {
                decision.waiting += waitingHosts.map {
                    HostDeferral(host: $0.host, reason: "waiting for a cluster slot (maxParallelClusters: \(policy.maxParallelClusters))")
                }
                continue
            }
            let startedNow = decideGroup(group, input: input, index: index, decision: &decision)
            if startedNow && !inProgress {
                inProgress = true
                clustersInProgress += 1
            }
        }
        return decision
    }

    /// Decides one cluster (or one standalone host). Returns whether anything started.
    func decideGroup(_ group: [HostSagaState], input: SchedulingInput, index: ClusterIndex,
                     decision: inout SchedulingDecision) -> Bool {
        let policy = input.policy
        guard let cluster = group.first?.cluster else {
            // A standalone host is its own group: no peers, no capacity to check.
            let alone = Scheduler.order(group.filter(\.isPending), index: index, cluster: nil)
            return startIfWindowFits(alone, input: input, decision: &decision) > 0
        }
        let snapshot = index.snapshot(cluster)
        let inventory = snapshot.inventory
        let waitingHosts = Scheduler.order(group.filter(\.isPending), index: index, cluster: cluster)
        func wait(_ reason: String) {
            decision.waiting += waitingHosts.map { HostDeferral(host: $0.host, reason: reason) }
        }

        // Hosts this job has out of service: they hold slots (rule 5) but
        // never close the health gate (rule 4).
        let slotHolders = Set(group.filter(\.holdsClusterSlot).map(\.host))
        let clusterHosts = snapshot.hosts
        let sick = clusterHosts.filter {
            !slotHolders.contains($0.name) && ($0.status == .down || $0.status == .rebooting || !$0.healthy)
        }
        if !sick.isEmpty {
            wait("health gate: \(sick.map(\.name).sorted().joined(separator: ", ")) not healthy in cluster \(cluster)")
            return false
        }

        var outOfService = slotHolders.union(clusterHosts.filter { !$0.canReceiveVMs }.map(\.name))
        // Hosts back in service for less than the settle delay keep their
        // slot, counted from their return (their failback may still run).
        let settlingUntil = group.compactMap { saga -> Instant? in
            guard !outOfService.contains(saga.host),
                  let settled = saga.backInServiceAt?.adding(seconds: policy.settleDelaySeconds), input.now < settled else { return nil }
            return settled
        }
        let limit = policy.maxUnavailablePerCluster
        let holdingOthersVMs = Set(group.flatMap(\.vmsAwaitingFailback).map(\.movedTo))
        var started = false
        for saga in waitingHosts {
            let hostInfo = inventory.host(named: saga.host)
            // A host already out of service costs no slot: its precheck will skip it.
            let alreadyOut = !(hostInfo?.canReceiveVMs ?? false)
            if !alreadyOut && outOfService.count + settlingUntil.count >= limit {
                if let settled = settlingUntil.min(), outOfService.count < limit {
                    decision.waiting.append(HostDeferral(host: saga.host, reason:
                        "settling until \(settled) after the previous host returned (\(outOfService.count) out of service, \(settlingUntil.count) settling, maxUnavailablePerCluster: \(limit))"))
                    decision.wake(at: settled)
                } else {
                    decision.waiting.append(HostDeferral(host: saga.host, reason:
                        "cluster \(cluster) at its unavailability limit (\(outOfService.count) out of service, maxUnavailablePerCluster: \(limit))"))
                }
                continue
            }
            if holdingOthersVMs.contains(saga.host) {
                decision.waiting.append(HostDeferral(host: saga.host, reason: "holds VMs drained from another host that must go home first (Rule 3)"))
                continue
            }
            if !alreadyOut, case .hold(let reason, .insufficientCapacity) = DrainPlanner.plan(
                host: saga.host, snapshot: Scheduler.projectedSnapshot(cluster: cluster, draining: outOfService, inventory: inventory, policy: policy),
                policy: policy, excludingTargets: outOfService) {
                decision.waiting.append(HostDeferral(host: saga.host, reason: reason))
                continue
            }
            if let reason = windowMisfit(saga.host, input: input, inventory: inventory) {
                decision.waiting.append(HostDeferral(host: saga.host, reason: reason))
                continue
            }
            decision.start.append(saga.host)
            outOfService.insert(saga.host)
            started = true
        }
        return started
    }

    func startIfWindowFits(_ sagas: [HostSagaState], input: SchedulingInput, decision: inout SchedulingDecision) -> Int {
        var count = 0
        for saga in sagas {
            if let reason = windowMisfit(saga.host, input: input, inventory: input.inventory) {
                decision.waiting.append(HostDeferral(host: saga.host, reason: reason))
            } else {
                decision.start.append(saga.host)
                count += 1
            }
        }
        return count
    }

    /// Why a host's predicted duration does not fit the time left in the window, if it does not.
    func windowMisfit(_ host: String, input: SchedulingInput, inventory: Inventory) -> String? {
        guard let window = input.policy.maintenanceWindow else { return nil }
        let predicted = DurationModel.predictSeconds(host: host, inventory: inventory, policy: input.policy)
        let left = window.end.seconds(since: input.now)
        guard predicted > left else { return nil }
        return "predicted \(Int(predicted / 60)) min does not fit the \(Int(left / 60)) min left in the maintenance window"
    }

    func remainingWork(_ group: [HostSagaState], _ input: SchedulingInput, _ index: ClusterIndex) -> Double {
        let cluster = group.first?.cluster
        // Each host's drain was summed by the index's one pass.
        var total: Double = 0
        for saga in group where saga.isPending {
            total = total + DurationModel.predictSeconds(drainSeconds: index.drainSeconds(saga.host, inCluster: cluster),
                                                         policy: input.policy)
        }
        return total
    }

    /// The cluster as it will look once the hosts already out of service have
    /// moved their running VMs off: two drains in one cluster must fit
    /// together, not each on its own.
    static func projectedSnapshot(cluster: String, draining: Set<String>, inventory: Inventory, policy: Policy) -> ClusterSnapshot {
        // `inventory` may be the whole datacenter or the cluster's slice.
        let hosts = inventory.hosts(inCluster: cluster)
        let names = Set(hosts.map(\.name))
        var scratch = Inventory(hosts: hosts, vms: inventory.vms.filter { names.contains($0.host) })
        for host in draining.sorted() where scratch.vms.contains(where: { $0.host == host && $0.power.consumesMemory }) {
            var planning = scratch
            if let index = planning.hosts.firstIndex(where: { $0.name == host }) { planning.hosts[index].status = .up }
            guard case .drain(let plan) = DrainPlanner.plan(host: host, snapshot: ClusterSnapshot(hosts: planning.hosts, vms: planning.vms),
                                                            policy: policy, excludingTargets: draining) else { continue }
            for item in plan.items {
                if let target = item.target, let index = scratch.vms.firstIndex(where: { $0.name == item.vm }) {
                    scratch.vms[index].host = target
                }
            }
        }
        return ClusterSnapshot(hosts: scratch.hosts, vms: scratch.vms)
    }

    /// Clusters are scheduled as units; a standalone host is a unit of its own.
    public static func groupKey(_ saga: HostSagaState) -> String {
        saga.cluster.map { "cluster:\($0)" } ?? "standalone:\(saga.host)"
    }

    /// Less to move first (memory, then VM count), then by name: stable.
    public static func order(_ sagas: [HostSagaState], inventory: Inventory) -> [HostSagaState] {
        // Each host's load once, not once per comparison.
        var load: [String: Load] = [:]
        for vm in inventory.vms where vm.power.consumesMemory {
            load[vm.host, default: Load(memoryMB: 0, vmCount: 0)].add(vm)
        }
        let zero = Load(memoryMB: 0, vmCount: 0)
        return sagas.sorted { lhs, rhs in
            let l = load[lhs.host] ?? zero, r = load[rhs.host] ?? zero
            if l != r { return l < r }
            return lhs.host < rhs.host
        }
    }

    /// `order(_:inventory:)` with the loads the index summed.
    static func order(_ sagas: [HostSagaState], index: ClusterIndex, cluster: String?) -> [HostSagaState] {
        let loads = sagas.map { index.load($0.host, inCluster: cluster) }
        return sagas.indices.sorted { lhs, rhs in
            if loads[lhs] != loads[rhs] { return loads[lhs] < loads[rhs] }
            return sagas[lhs].host < sagas[rhs].host
        }.map { sagas[$0] }
    }

    struct Load: Comparable {
        var memoryMB: Int
        var vmCount: Int
        static func < (lhs: Load, rhs: Load) -> Bool { (lhs.memoryMB, lhs.vmCount) < (rhs.memoryMB, rhs.vmCount) }
        mutating func add(_ vm: VM) {
            memoryMB += vm.memoryMB
            vmCount += 1
        }
    }

    static func movingLoad(_ host: String, _ inventory: Inventory) -> Load {
        let running = inventory.vms(on: host).filter(\.power.consumesMemory)
        return Load(memoryMB: running.reduce(0) { $0 + $1.memoryMB }, vmCount: running.count)
    }
}
