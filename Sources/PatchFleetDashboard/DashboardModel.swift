import Foundation
import PatchFleetCore
import PatchFleetStore

/// What the dashboard shows, built from the store's records (pure: the same
/// records give the same view; tested without a server). Times are the
/// saga clock's, so a sped-up lab shows datacenter minutes, not wall seconds.
public struct DashboardJobSummary: Codable, Sendable, Equatable {
    public var id: String
    public var state: String
    public var submittedAt: String
    public var updatedAt: String
    public var hosts: Int
    public var clusters: Int
    /// patched, skipped, held, failed, cancelled, active, pending
    public var counts: [String: Int]
    public var reason: String?
}

public struct DashboardHost: Codable, Sendable, Equatable {
    public var host: String
    public var cluster: String?
    public var phase: String
    /// The task the saga waits for now (drain VM, poll compliance...), if any.
    public var step: String?
    public var outcome: String?
    public var reason: String?
    public var elapsedSeconds: Double?
    public var vmsMovedOut: Int
    public var vmsMovedBack: Int
    public var reboots: Int
    public var retries: Int
    public var inMaintenance: Bool
    public var preexistingMaintenance: Bool
    public var notes: [String]
}

public struct DashboardCluster: Codable, Sendable, Equatable {
    /// The cluster's name; standalone hosts are grouped under "(standalone)".
    public var name: String
    public var hosts: [DashboardHost]
    public var finished: Int
    public var active: Int
}

/// A host PatchFleet stopped short with, and what a person should do next.
public struct DashboardHeldHost: Codable, Sendable, Equatable {
    public var host: String
    public var cluster: String?
    public var outcome: String
    public var reason: String
    public var inMaintenance: Bool
    public var action: String
}

public struct DashboardJob: Codable, Sendable, Equatable {
    public var summary: DashboardJobSummary
    public var clusters: [DashboardCluster]
    public var attention: [DashboardHeldHost]
    public var policy: [String: String]
}

public enum DashboardModel {
    public static let standaloneGroup = "(standalone)"

    public static func summary(_ job: JobRecord, sagas: [HostSagaState]) -> DashboardJobSummary {
        summary(job, hosts: sagas.map { ($0.cluster, $0.outcome?.kind, $0.phase) })
    }

    /// A finished job's line from its stored report: the same counts without
    /// reading and decoding every saga of every job listed.
    public static func summary(_ job: JobRecord, report: JobReport) -> DashboardJobSummary {
        summary(job, hosts: report.hosts.map { ($0.cluster, $0.outcome?.kind, $0.phase) })
    }

    static func summary(_ job: JobRecord,
                        hosts: [(cluster: String?, outcome: HostOutcome.Kind?, phase: SagaPhase)]) -> DashboardJobSummary {
        var counts = Dictionary(uniqueKeysWithValues: HostOutcome.Kind.allCases.map { ($0.rawValue, 0) })
        counts["active"] = 0
        counts["pending"] = 0
        for host in hosts {
            if let outcome = host.outcome { counts[outcome.rawValue, default: 0] += 1 }
            else if host.phase == .pending { counts["pending", default: 0] += 1 }
            else { counts["active", default: 0] += 1 }
        }
        return DashboardJobSummary(
            id: job.id, state: job.state.rawValue, submittedAt: Instant.iso8601(job.submittedAt), updatedAt: Instant.iso8601(job.updatedAt),
            hosts: hosts.count, clusters: Set(hosts.map { $0.cluster ?? standaloneGroup }).count,
            counts: counts, reason: job.reason)
    }

    public static func job(_ job: JobRecord, sagas: [HostSagaState], now: Instant) -> DashboardJob {
        let grouped = Dictionary(grouping: sagas) { $0.cluster ?? standaloneGroup }
        let clusters = grouped.keys.sorted { lhs, rhs in
            // Standalone hosts last: they are handled apart (design rule 3).
            (lhs == standaloneGroup ? 1 : 0, lhs) < (rhs == standaloneGroup ? 1 : 0, rhs)
        }.map { name -> DashboardCluster in
            let members = grouped[name, default: []].sorted { $0.host < $1.host }
            return DashboardCluster(name: name, hosts: members.map { host($0, now: now) },
                                    finished: members.filter(\.isDone).count, active: members.filter(\.isActive).count)
        }
        let attention = sagas.sorted { $0.host < $1.host }.compactMap(heldHost)
        let policy = job.spec.policy
        return DashboardJob(
            summary: summary(job, sagas: sagas), clusters: clusters, attention: attention,
            policy: [
                "maxUnavailablePerCluster": String(policy.maxUnavailablePerCluster),
                "maxParallelClusters": String(policy.maxParallelClusters),
                "nonHighlyAvailableVMs": policy.nonHighlyAvailableVMs.rawValue,
                "stoppedHighlyAvailableVMs": policy.stoppedHighlyAvailableVMs.rawValue,
                "failback": policy.failback.rawValue,
                "standaloneHosts": policy.standaloneHosts.rawValue,
                "onFailure": policy.onFailure.rawValue,
            ])
    }

    static func host(_ saga: HostSagaState, now: Instant) -> DashboardHost {
        let elapsed = saga.startedAt.map { (saga.finishedAt ?? now).seconds(since: $0) }
        return DashboardHost(
            host: saga.host, cluster: saga.cluster, phase: saga.phase.rawValue, step: saga.awaiting?.rawValue,
            outcome: saga.outcome?.kind.rawValue, reason: saga.outcome?.reason ?? saga.lastError,
            elapsedSeconds: elapsed, vmsMovedOut: saga.moved.count, vmsMovedBack: movedBack(saga),
            reboots: saga.reboots, retries: saga.retries, inMaintenance: saga.inMaintenance,
            preexistingMaintenance: saga.preexistingMaintenance, notes: saga.notes.map { note in
                note.vm.map { "\($0): \(note.message)" } ?? note.message
            })
    }

    /// VMs that went home (Rule 3): those whose failback was processed and
    /// that did not get a note saying why they stayed away.
    static func movedBack(_ saga: HostSagaState) -> Int {
        // A host held in maintenance never got to its failback.
        let failbackRan = saga.phase == .rebalancing
            || (saga.isDone && saga.policy.failback == .original && saga.resumeMode != .compensation
                && saga.enteredMaintenance && saga.outcome?.inMaintenance != true)
        guard failbackRan, !saga.moved.isEmpty else { return 0 }
        let processed = saga.moved.count - saga.failbackQueue.count
        let movedVMs = Set(saga.moved.map(\.vm))
        let leftAway = Set(saga.notes.filter { $0.message.hasPrefix("Rule 3") }.compactMap(\.vm)).intersection(movedVMs).count
        return max(0, processed - leftAway)
    }

    /// Hosts that ended anything but patched (or cancelled cleanly), with the
    /// next step a person takes: the dashboard's "needs attention" list.
    static func heldHost(_ saga: HostSagaState) -> DashboardHeldHost? {
        guard let outcome = saga.outcome, outcome.kind == .held || outcome.kind == .failed
            || (outcome.kind == .skipped && saga.cluster == nil) || outcome.inMaintenance else { return nil }
        let reason = outcome.reason ?? "no reason recorded"
        return DashboardHeldHost(host: saga.host, cluster: saga.cluster, outcome: outcome.kind.rawValue, reason: reason,
                                 inMaintenance: outcome.inMaintenance, action: action(saga, outcome: outcome, reason: reason))
    }

    static func action(_ saga: HostSagaState, outcome: HostOutcome, reason: String) -> String {
        let lower = reason.lowercased()
        if saga.cluster == nil {
            return "Standalone host: its VMs cannot live-migrate. Patch it in a maintenance window agreed with its VMs' owners "
                + "(or submit it alone with standaloneHosts: patch)."
        }
        if outcome.inMaintenance {
            return "PatchFleet left it in maintenance mode so it takes no VMs. Read the reason, fix or finish the update on the host, "
                + "then take it out of maintenance (VMM: Enable-SCVMHost; Failover Clustering: Resume-ClusterNode -Failback Immediate) "
                + "or submit a job for it again."
        }
        if lower.contains("highly available") || lower.contains("non-ha") || lower.contains("rule 1") {
            return "Rule 1: running VMs that are not highly available would be cut off by maintenance mode. Make them HA, move or "
                + "shut them down with their owners, or resubmit with nonHighlyAvailableVMs: saveState or shutDown."
        }
        if lower.contains("capacity") || lower.contains("memory") {
            return "The rest of the cluster cannot hold this host's VMs. Free capacity (or add a host), then resubmit the host."
        }
        return "Nothing was left half-done on the host (it is in service). Read the reason and the notes, fix the cause, "
            + "then resubmit the host."
    }
}
