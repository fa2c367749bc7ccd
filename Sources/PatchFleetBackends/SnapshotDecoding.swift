import PatchFleetCore

/// A one-session cluster observation's answer, `{ hosts: [...], vms: [...] }`,
/// as both real backends write it (`VMMScripts.clusterSnapshot`,
/// `ClusterScripts.clusterSnapshot`).
enum SnapshotDecoding {
    /// Decodes the hosts and VMs with the backend's own decoders and keeps
    /// only the VMs on those hosts (the script filters on the server; a
    /// reply naming another host's VM is filtered here too). `what` names
    /// the answer in the error for a reply of another shape.
    static func snapshot(_ reply: JSONValue, what: String,
                         host: (JSONValue) throws(BackendError) -> Host,
                         vm: (JSONValue) throws(BackendError) -> VM) throws(BackendError) -> ClusterSnapshot {
        // Arrays, or Windows PowerShell 5.1's {"value":[...],"Count":n} (`elements` unwraps both).
        guard !reply["hosts"].isNull, !reply["vms"].isNull else {
            throw BackendError(.internalError, "\(what) has no hosts and VMs lists: \(reply)")
        }
        var hosts: [Host] = []
        for item in reply["hosts"].elements { hosts.append(try host(item)) }
        let names = Set(hosts.map(\.name))
        var vms: [VM] = []
        for item in reply["vms"].elements {
            let decoded = try vm(item)
            if names.contains(decoded.host) { vms.append(decoded) }
        }
        return ClusterSnapshot(hosts: hosts, vms: vms)
    }
}
