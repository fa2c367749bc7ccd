import PatchFleetCore

/// A test double over a real update backend (usually the simulated
/// datacenter): every call goes to `base` unless the conforming type has its
/// own, so a test writes only the calls it bends (the virtualization twin is
/// `ForwardingVirtualizationBackend`).
public protocol ForwardingUpdateBackend: UpdateBackend {
    var base: any UpdateBackend { get }
}

extension ForwardingUpdateBackend {
    public func collectionMembers(_ collection: String) async throws(BackendError) -> [String] {
        try await base.collectionMembers(collection)
    }
    public func ensureCollection(_ collection: String) async throws(BackendError) { try await base.ensureCollection(collection) }
    public func addHost(_ host: String, toCollection collection: String) async throws(BackendError) {
        try await base.addHost(host, toCollection: collection)
    }
    public func refreshPolicy(host: String) async throws(BackendError) { try await base.refreshPolicy(host: host) }
    public func triggerInstall(host: String, updateIds: [String]) async throws(BackendError) {
        try await base.triggerInstall(host: host, updateIds: updateIds)
    }
    public func compliance(host: String, updateIds: [String]) async throws(BackendError) -> ComplianceReport {
        try await base.compliance(host: host, updateIds: updateIds)
    }
    public func pendingReboot(host: String) async throws(BackendError) -> Bool { try await base.pendingReboot(host: host) }
    public func reboot(host: String) async throws(BackendError) { try await base.reboot(host: host) }
    public func updateList(named name: String) async throws(BackendError) -> UpdateList? { try await base.updateList(named: name) }
    public func updatesNotNeeded(in list: UpdateList, onHosts hosts: [String]) async throws(BackendError) -> [String: Set<String>] {
        try await base.updatesNotNeeded(in: list, onHosts: hosts)
    }
}
