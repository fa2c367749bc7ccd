/// Where a VM would go during a host's drain.
public struct PlannedMove: Codable, Sendable, Hashable {
    public var vm: String
    public var from: String
    /// nil when the VM stays on the host (saved or shut down for the patch).
    public var to: String?
    public var method: String
}

public struct PlannedHost: Codable, Sendable, Hashable {
    public enum Action: String, Codable, Sendable {
        case patch, hold, skip
    }
    public var host: String
    public var cluster: String?
    /// Position in the predicted start order (0-based, across the job).
    public var order: Int
    public var action: Action
    public var reason: String?
    public var moves: [PlannedMove]
    public var predictedSeconds: Double
    public var predictedStart: Instant
    public var predictedEnd: Instant
    /// False when the host would not finish inside the maintenance window.
    public var fitsWindow: Bool
}

/// The whole plan of a job, without touching anything.
public struct DryRunPlan: Codable, Sendable, Hashable {
    public var jobId: String
    public var problems: [ValidationProblem]
    public var hosts: [PlannedHost]
    public var predictedStart: Instant
    public var predictedEnd: Instant
}

/// Plans a job against an inventory: order, each VM's destination and
/// predicted durations. It applies the same precheck (`DrainPlanner`) and the
/// same ordering as the live scheduler. The timeline assumes failback returns
/// the cluster to its starting placement between hosts (failback: original),
/// so every host is planned against the starting inventory.
public enum DryRunPlanner {
    public static func plan(_ spec: JobSpec, inventory: Inventory, startingAt start: Instant) -> DryRunPlan {
        let policy = spec.policy
        let problems = JobSpecValidator.validate(spec, against: inventory)
        let targets = TargetResolver.resolve(spec, in: inventory)
        let updateIds = TargetResolver.updateIds(spec, in: inventory)
        let sagas = targets.map {
            HostSagaState(jobId: spec.id, target: $0, policy: policy, updateIds: updateIds,
                          deploymentCollection: spec.deploymentCollectionName)
        }
        let groups = Dictionary(grouping: sagas, by: Scheduler.groupKey)

        // Per group: its hosts in scheduler order, with durations; a group's
        // hosts run on `maxUnavailablePerCluster` lanes separated by the settle delay.
        struct GroupPlan {
            var key: String
            var hosts: [(saga: HostSagaState, action: PlannedHost.Action, reason: String?, moves: [PlannedMove], seconds: Double)]
            var totalSeconds: Double
        }
        var groupPlans: [GroupPlan] = []
        for (key, group) in groups {
            var hosts: [(saga: HostSagaState, action: PlannedHost.Action, reason: String?, moves: [PlannedMove], seconds: Double)] = []
            for saga in Scheduler.order(group, inventory: inventory) {
                let verdict = DrainPlanner.plan(host: saga.host, snapshot: inventory.clusterSnapshot(of: saga.host), policy: policy)
                switch verdict {
                case .skip(let reason, _): hosts.append((saga, .skip, reason, [], 0))
                case .hold(let reason, _): hosts.append((saga, .hold, reason, [], 0))
                case .drain(let plan):
                    let moves = plan.items.map { item in
                        PlannedMove(vm: item.vm, from: saga.host, to: item.target,
                                    method: item.purpose == .moveStopped ? "moveStopped" : (item.currentMethod?.rawValue ?? "none"))
                    }
                    hosts.append((saga, .patch, nil, moves,
                                  DurationModel.predictSeconds(host: saga.host, inventory: inventory, policy: policy)))
                }
            }
            let lanes = max(1, key.hasPrefix("standalone:") ? 1 : policy.maxUnavailablePerCluster)
            let work = hosts.filter { $0.action == .patch }.map { $0.seconds + policy.settleDelaySeconds }
            groupPlans.append(GroupPlan(key: key, hosts: hosts, totalSeconds: work.reduce(0, +) / Double(lanes)))
        }
        // Longest cluster first on the parallel slots, as the scheduler does.
        groupPlans.sort { ($0.totalSeconds, $1.key) > ($1.totalSeconds, $0.key) }

        var slotFree = Array(repeating: start, count: max(1, policy.maxParallelClusters))
        var planned: [PlannedHost] = []
        for group in groupPlans {
            let slot = slotFree.indices.min { slotFree[$0] < slotFree[$1] }!
            let lanesCount = max(1, group.key.hasPrefix("standalone:") ? 1 : policy.maxUnavailablePerCluster)
            var lanes = Array(repeating: slotFree[slot], count: lanesCount)
            for entry in group.hosts {
                let lane = lanes.indices.min { lanes[$0] < lanes[$1] }!
                let begin = lanes[lane]
                let end = begin.adding(seconds: entry.seconds)
                if entry.action == .patch { lanes[lane] = end.adding(seconds: policy.settleDelaySeconds) }
                let fits = policy.maintenanceWindow.map { end <= $0.end } ?? true
                planned.append(PlannedHost(host: entry.saga.host, cluster: entry.saga.cluster, order: 0, action: entry.action,
                                           reason: entry.reason ?? (fits ? nil : "predicted end \(end) is after the maintenance window"),
                                           moves: entry.moves, predictedSeconds: entry.seconds,
                                           predictedStart: begin, predictedEnd: end, fitsWindow: fits))
            }
            slotFree[slot] = lanes.max() ?? slotFree[slot]
        }
        planned.sort { ($0.predictedStart, $0.host) < ($1.predictedStart, $1.host) }
        for index in planned.indices { planned[index].order = index }
        let end = planned.map(\.predictedEnd).max() ?? start
        return DryRunPlan(jobId: spec.id, problems: problems, hosts: planned, predictedStart: start, predictedEnd: end)
    }
}
