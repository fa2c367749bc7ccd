import PatchFleetCore

/// Who caused a change: the invariants judge only what PatchFleet did.
public enum HistoryActor: String, Codable, Sendable, Hashable {
    case patchfleet, external, datacenter
}

/// One state change (or one attempt, for requests the datacenter refused:
/// a refused request to reboot a busy host is still a bug to catch).
public enum HistoryChange: Codable, Sendable, Hashable {
    case hostStatus(host: String, from: HostStatus, to: HostStatus)
    case migrationRequested(vm: String, from: String, to: String, method: String)
    case vmMoved(vm: String, from: String, to: String, method: String)
    case migrationFailed(vm: String, to: String, message: String)
    case vmPower(vm: String, host: String, from: PowerState, to: PowerState)
    case vmDeleted(vm: String, host: String)
    case rebootRequested(host: String, runningVMs: [String])
    case installStarted(host: String, updateIds: [String])
    case installFinished(host: String, installed: [String], failed: [String])
    case pendingReboot(host: String, pending: Bool)
    case addedToCollection(host: String, collection: String)
}

public struct HistoryRecord: Codable, Sendable, Hashable {
    public var seq: Int
    public var at: Instant
    public var actor: HistoryActor
    public var change: HistoryChange
}
