import PatchFleetCore

struct ClusterNodeRecord: Sendable, Hashable {
    var host: Host
    var state: String
    var drainStatus: String
}

struct ClusterVMRecord: Sendable, Hashable {
    var vm: VM
    var cluster: String
    var clustered: Bool
}

/// Failover Clustering and Hyper-V enums (documented numeric values, for
/// Windows PowerShell 5.1 output without [string]).
enum ClusterDecoding {
    static let nodeState: [Int: String] = [0: "Up", 1: "Down", 2: "Paused", 3: "Joining"]
    static let drainStatus: [Int: String] = [0: "NotInitiated", 1: "InProgress", 2: "Completed", 3: "Failed"]
    static let groupState: [Int: String] = [0: "Online", 1: "Offline", 2: "Failed", 3: "PartialOnline", 4: "Pending"]
    /// Microsoft.HyperV.PowerShell.VMState (the common values).
    static let vmState: [Int: String] = [1: "Other", 2: "Running", 3: "Off", 4: "Stopping", 6: "Saved", 9: "Paused",
                                         10: "Starting", 11: "Reset", 32773: "Saving", 32776: "Pausing",
                                         32777: "Resuming", 32779: "FastSaved", 32780: "FastSaving"]

    static func node(_ v: JSONValue) throws(BackendError) -> ClusterNodeRecord {
        guard let name = v["name"].string, !name.isEmpty else { throw BackendError(.internalError, "cluster node record without a name: \(v)") }
        let state = v["state"].enumName(nodeState) ?? ""
        let drain = v["drainStatus"].enumName(drainStatus) ?? "NotInitiated"
        let status: HostStatus = switch (state, drain) {
        case ("Up", _): .up
        case ("Paused", "Completed"): .maintenance
        case ("Paused", "InProgress"): .draining
        case ("Paused", _): .paused  // paused without (or after a failed) drain
        case ("Joining", _): .rebooting
        default: .down
        }
        let healthy = state == "Up" || state == "Paused"
        let host = Host(name: name, cluster: v["cluster"].string, memoryMB: (v["totalMemory"].int ?? 0) / (1024 * 1024),
                        status: status, healthy: healthy)
        return ClusterNodeRecord(host: host, state: state, drainStatus: drain)
    }

    static func vm(_ v: JSONValue) throws(BackendError) -> ClusterVMRecord {
        guard let name = v["name"].string, !name.isEmpty else { throw BackendError(.internalError, "VM record without a name: \(v)") }
        let state = v["state"].enumName(vmState) ?? ""
        let group = v["groupState"].enumName(groupState) ?? ""
        let power: PowerState
        switch state.lowercased() {
        case "running", "stopping", "saving", "pausing", "resuming", "reset", "starting": power = .running
        case "paused": power = .paused
        case "saved", "fastsaved", "fastsaving": power = .saved
        case "off": power = .stopped
        default:
            // Get-VM gave nothing (node unreachable): fall back to the group.
            switch group {
            case "Online", "PartialOnline", "Pending": power = .running
            case "Offline", "Failed": power = .stopped
            default: throw BackendError(.invalidState, "VM '\(name)' has no readable state (VM '\(state)', group '\(group)')")
            }
        }
        let assigned = (v["memoryAssigned"].int ?? 0) / (1024 * 1024)
        let startup = (v["memoryStartup"].int ?? 0) / (1024 * 1024)
        let clustered = v["clustered"].bool ?? false
        let vm = VM(name: name, memoryMB: assigned > 0 ? assigned : startup, power: power, highlyAvailable: clustered,
                    host: v["host"].string ?? "")
        return ClusterVMRecord(vm: vm, cluster: v["cluster"].string ?? "", clustered: clustered)
    }
}
