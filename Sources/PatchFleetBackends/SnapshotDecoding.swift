import PatchFleetCore

/// The replies of a cluster observation, as both real backends write them:
/// the VMs on a set of hosts (`listVMs(onHosts:)`), and the one-session
/// `{ hosts: [...], vms: [...] }` (`VMMScripts.clusterSnapshot`,
/// `ClusterScripts.clusterSnapshot`).
enum SnapshotDecoding {
    /// The VMs among `items` that are on `hosts`, decoded by the backend's
    /// own `vm`. The scripts filter on the server; a reply naming another
    /// host's VM is filtered here too, before decoding, so a VM elsewhere
    /// in a state PatchFleet does not handle never fails this observation.
    static func vms(_ items: [JSONValue], on hosts: Set<String>,
                    vm: (JSONValue) throws(BackendError) -> VM) throws(BackendError) -> [VM] {
        var vms: [VM] = []
        for item in items where hosts.contains(item["host"].string ?? "") {
            vms.append(try vm(item))
        }
        return vms
    }

    /// Decodes the hosts and their VMs with the backend's own decoders.
    /// `what` names the answer in the error for a reply of another shape.
    static func snapshot(_ reply: JSONValue, what: String,
                         host: (JSONValue) throws(BackendError) -> Host,
                         vm: (JSONValue) throws(BackendError) -> VM) throws(BackendError) -> ClusterSnapshot {
        // Arrays, or Windows PowerShell 5.1's {"value":[...],"Count":n} (`elements` unwraps both).
        guard !reply["hosts"].isNull, !reply["vms"].isNull else {
            throw BackendError(.internalError, "\(what) has no hosts and VMs lists: \(reply)")
        }
        var hosts: [Host] = []
        for item in reply["hosts"].elements { hosts.append(try host(item)) }
        return ClusterSnapshot(hosts: hosts, vms: try vms(reply["vms"].elements, on: Set(hosts.map(\.name)), vm: vm))
    }
}
