import Foundation
import PatchFleetCore
import PatchFleetStore

/// What happened in one job, host by host, built from the coordinator's
/// store (the job and its sagas) and nothing else. A plain value: the
/// renderers (`json()`, `markdown()`, `html()`) only format it, so the
/// CLI, the coordinator at job end and the web dashboard all show the same.
public struct RunReport: Codable, Sendable, Hashable {
    public var jobId: String
    /// The store's state of the job (`running`, `finished`, ...).
    public var jobState: String
    public var reason: String?
    public var submittedAt: Instant
    /// The first host's start (nil: nothing started yet).
    public var startedAt: Instant?
    /// The last host's end, or the last change recorded for a job still running.
    public var endedAt: Instant?
    public var updateIds: [String]
    public var totals: RunTotals
    /// Clusters by name, standalone hosts last.
    public var clusters: [ClusterRun]

    public init(job: JobRecord, sagas: [StoredSaga]) {
        let hosts = sagas.map { HostRun($0.state, lastChange: $0.updatedAt) }
        jobId = job.id
        jobState = job.state.rawValue
        reason = job.reason
        submittedAt = job.submittedAt
        startedAt = hosts.compactMap(\.startedAt).min()
        let lastStep = hosts.compactMap { $0.finishedAt ?? $0.steps.last?.endsAt }.max()
        endedAt = lastStep ?? (job.state.isTerminal ? job.updatedAt : nil)
        // Each host's own list (an update group is scoped per host): all of them, in order.
        var seen = Set<String>()
        updateIds = sagas.flatMap(\.state.updateIds).filter { seen.insert($0).inserted }
        totals = RunTotals(hosts)
        let grouped = Dictionary(grouping: hosts) { $0.cluster }
        clusters = grouped.map { ClusterRun(name: $0.key, hosts: $0.value) }
            .sorted { ($0.cluster == nil ? 1 : 0, $0.name) < ($1.cluster == nil ? 1 : 0, $1.name) }
    }

    public var hosts: [HostRun] { clusters.flatMap(\.hosts) }
    public func host(_ name: String) -> HostRun? { hosts.first { $0.host == name } }
    /// From the first start to the end, for a run that started.
    public var durationSeconds: Double? {
        guard let startedAt, let endedAt else { return nil }
        return endedAt.seconds(since: startedAt)
    }
}

/// The whole run in numbers.
public struct RunTotals: Codable, Sendable, Hashable {
    public var hosts: Int
    /// Hosts by outcome, every outcome named (0 included); `inProgress` for the rest.
    public var outcomes: [String: Int]
    public var leftInMaintenance: Int
    /// Updates installed, summed over hosts.
    public var updatesInstalled: Int
    public var reboots: Int
    public var retries: Int
    public var vmsMovedOut: Int
    public var vmsMovedBack: Int
    /// VMs moved out that are not back home, each with a note saying why.
    public var vmsNotMovedBack: Int

    init(_ hosts: [HostRun]) {
        self.hosts = hosts.count
        var outcomes = Dictionary(uniqueKeysWithValues: HostOutcome.Kind.allCases.map { ($0.rawValue, 0) })
        outcomes["inProgress"] = 0
        for host in hosts { outcomes[host.outcome?.rawValue ?? "inProgress", default: 0] += 1 }
        self.outcomes = outcomes
        leftInMaintenance = hosts.filter(\.leftInMaintenance).count
        updatesInstalled = hosts.map(\.updatesInstalled.count).reduce(0, +)
        reboots = hosts.map(\.reboots).reduce(0, +)
        retries = hosts.map(\.retries).reduce(0, +)
        vmsMovedOut = hosts.map(\.movedOut.count).reduce(0, +)
        vmsMovedBack = hosts.map(\.movedBack.count).reduce(0, +)
        vmsNotMovedBack = hosts.map { $0.movedOut.count - $0.movedBack.count }.reduce(0, +)
    }

    public func count(_ kind: HostOutcome.Kind) -> Int { outcomes[kind.rawValue] ?? 0 }
}

/// One cluster's hosts, in the order they started.
public struct ClusterRun: Codable, Sendable, Hashable {
    /// Nil for the standalone hosts.
    public var cluster: String?
    public var hosts: [HostRun]

    init(name: String?, hosts: [HostRun]) {
        cluster = name
        self.hosts = hosts.sorted {
            ($0.startedAt?.secondsSinceEpoch ?? .infinity, $0.host) < ($1.startedAt?.secondsSinceEpoch ?? .infinity, $1.host)
        }
    }

    public var name: String { cluster ?? "Standalone hosts" }
}
