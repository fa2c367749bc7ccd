import Foundation
import PatchFleetCore
import PatchFleetSimulator

/// The lab's request/reply messages. Workers reach the simulated datacenter
/// the way real workers reach a VMM or ConfigMgr server: a remote call per
/// backend operation, with a timeout. Here the call travels over AMQP:
/// a request on the lab's queue, with `reply_to` and `correlation_id`, and
/// one reply on the caller's own queue.
public enum LabOperation: String, Codable, Sendable, CaseIterable {
    // Virtualization manager
    case listClusters, listHosts, listVMs, host, hostHealth
    /// A cluster's hosts and their VMs in one reply (`cluster`; answers `hosts` and `vms`).
    case clusterSnapshot
    case enterMaintenance, exitMaintenance, liveMigrate, quickMigrate, moveVM, saveState, shutDown, start
    // Update manager
    case collectionMembers, ensureCollection, addHostToCollection, refreshPolicy, triggerInstall
    case compliance, pendingReboot, reboot
    // For tests, the demo summary and the fault-injection run
    case snapshot
    /// The invariant checker over the lab's whole history, for a job's
    /// report and policy (`report`, `policy`): its violations.
    case checkInvariants
    /// Calls served so far, by operation (`patchfleet-bench fleet` reports
    /// the backend traffic a saga causes through the broker).
    case stats
}

public struct LabRequest: Codable, Sendable, Equatable {
    public static let schema = "patchfleet.lab.request"
    public var op: LabOperation
    public var host: String?
    /// `listVMs`: the VMs on these hosts (one cluster's nodes) in one call.
    public var hosts: [String]?
    public var cluster: String?
    public var vm: String?
    public var to: String?
    public var collection: String?
    public var updateIds: [String]?
    public var migrateRunningVMs: Bool?
    /// `checkInvariants`: the job's report (every host's outcome) and the policy it ran under.
    public var report: JobReport?
    public var policy: Policy?

    public init(_ op: LabOperation, host: String? = nil, hosts: [String]? = nil, cluster: String? = nil, vm: String? = nil, to: String? = nil,
                collection: String? = nil, updateIds: [String]? = nil, migrateRunningVMs: Bool? = nil,
                report: JobReport? = nil, policy: Policy? = nil) {
        self.report = report
        self.policy = policy
        self.op = op
        self.host = host
        self.hosts = hosts
        self.cluster = cluster
        self.vm = vm
        self.to = to
        self.collection = collection
        self.updateIds = updateIds
        self.migrateRunningVMs = migrateRunningVMs
    }

    /// The value of a field the operation needs, or an error naming it.
    func required<T>(_ value: T?, _ field: String) throws(BackendError) -> T {
        guard let value else { throw BackendError(.internalError, "lab request '\(op.rawValue)' lacks the field '\(field)'") }
        return value
    }
}

/// One reply: `error` set on failure (the backend's own message), otherwise
/// the field that the operation returns.
public struct LabResponse: Codable, Sendable {
    public static let schema = "patchfleet.lab.response"
    public var error: BackendError?
    public var clusters: [Cluster]?
    public var hosts: [PatchFleetCore.Host]?
    public var vms: [VM]?
    public var host: PatchFleetCore.Host?
    public var health: HostHealth?
    public var members: [String]?
    public var compliance: ComplianceReport?
    public var pendingReboot: Bool?
    public var snapshot: LabSnapshot?
    public var violations: [InvariantViolation]?
    /// `stats`: calls served by operation (the `stats` calls themselves left out).
    public var calls: [String: Int]?

    public init(error: BackendError? = nil) { self.error = error }

    /// The value the caller expects, or an error if the lab sent none.
    func value<T>(_ keyPath: KeyPath<LabResponse, T?>, for op: LabOperation) throws(BackendError) -> T {
        if let error { throw error }
        guard let value = self[keyPath: keyPath] else {
            throw BackendError(.internalError, "the lab's answer to '\(op.rawValue)' carries no result")
        }
        return value
    }
}
