import PatchFleetCore

/// VMM objects as PatchFleet reads them.
struct VMMHostRecord: Sendable, Hashable {
    var host: Host
    var responding: Bool
    var overallState: String
    var availableForPlacement: Bool
    var computerName: String
}

struct VMMJob: Sendable, Hashable {
    enum Phase: Sendable { case running, succeeded, failed }
    var id: String
    var name: String
    var status: String
    var progress: String
    var errorCode: String?
    var problem: String
    var recommendedAction: String

    var phase: Phase {
        switch status.lowercased() {
        case "completed", "succeedwithinfo": .succeeded
        case "failed", "canceled", "cancelled": .failed
        default: .running
        }
    }
}

enum VMMDecoding {
    /// Host.OverallState numeric values (Windows PowerShell 5.1 without
    /// [string]); only these three are documented by public integrations.
    static let overallState: [Int: String] = [0: "Ok", 2: "NeedsAttention", 8: "InMaintenanceMode"]
    /// Host.CommunicationState values that mean "VMM cannot talk to it".
    static let notResponding: Set<String> = ["notresponding", "accessdenied", "noconnection", "notavailable", "disconnected"]

    static func host(_ v: JSONValue) throws(BackendError) -> VMMHostRecord {
        guard let name = v["name"].string, !name.isEmpty else {
            throw BackendError(.internalError, "VMM host record without a name: \(v)")
        }
        let overall = v["overallState"].enumName(overallState) ?? ""
        let communication = (v["communicationState"].string ?? "Responding").lowercased()
        let responding = !notResponding.contains(communication)
        let available = v["availableForPlacement"].bool ?? true
        let lower = overall.lowercased()
        let status: HostStatus
        if !responding { status = .down }
        else if lower.contains("maintenance") { status = .maintenance }
        else if !available { status = .paused }  // cordoned: no placement, VMs keep running
        else { status = .up }
        let healthy = responding && (lower == "ok" || lower.contains("maintenance"))
        let cluster = v["cluster"].string.flatMap { $0.isEmpty ? nil : $0 }
        let bytes = v["totalMemory"].int ?? 0
        return VMMHostRecord(host: Host(name: name, cluster: cluster, memoryMB: bytes / (1024 * 1024), status: status, healthy: healthy),
                             responding: responding, overallState: overall, availableForPlacement: available,
                             computerName: v["computerName"].string ?? name)
    }

    /// VirtualMachineState is Hyper-V's own state; Status is VMM's view
    /// (adds UnderMigration, MigrationFailed, ...) and is the fallback.
    static func power(state: String, status: String) -> PowerState? {
        for text in [state, status] {
            switch text.lowercased() {
            case "running": return .running
            case "poweroff", "stopped", "off": return .stopped
            case "saved", "savedstate": return .saved
            case "paused": return .paused
            default: continue
            }
        }
        return nil
    }

    static func vm(_ v: JSONValue) throws(BackendError) -> VM {
        guard let name = v["name"].string, !name.isEmpty else {
            throw BackendError(.internalError, "VMM virtual machine record without a name: \(v)")
        }
        let state = v["state"].string ?? ""
        let status = v["status"].string ?? ""
        guard let power = power(state: state, status: status) else {
            throw BackendError(.invalidState, "VM '\(name)' is in a state PatchFleet does not handle: VirtualMachineState '\(state)', Status '\(status)'")
        }
        // Dynamic memory: what the VM holds now matters for capacity.
        let assigned = v["memoryAssignedMB"].int ?? 0
        let memory = assigned > 0 ? assigned : (v["memoryMB"].int ?? 0)
        return VM(name: name, memoryMB: memory, power: power, highlyAvailable: v["highlyAvailable"].bool ?? false,
                  host: v["host"].string ?? "", tags: v["tags"].elements.compactMap(\.string))
    }

    static func job(_ v: JSONValue) throws(BackendError) -> VMMJob {
        guard let id = v["id"].string, !id.isEmpty else { throw BackendError(.internalError, "VMM job record without an id: \(v)") }
        let code = v["errorCode"].string.flatMap { $0.isEmpty || $0 == "0" ? nil : $0 }
        return VMMJob(id: id, name: v["name"].string ?? "", status: v["status"].string ?? "", progress: v["progress"].string ?? "",
                      errorCode: code, problem: v["problem"].string ?? "", recommendedAction: v["recommendedAction"].string ?? "")
    }
}
