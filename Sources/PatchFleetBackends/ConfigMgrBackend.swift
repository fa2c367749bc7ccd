import PatchFleetCore

/// UpdateBackend over Configuration Manager: collections and client
/// notification on the site server, the client's own state through
/// root\ccm\ClientSDK on each host.
public struct ConfigMgrBackend: UpdateBackend {
    /// How the backend reaches the ConfigMgr client on a Hyper-V host.
    public enum ClientAccess: Sendable, Hashable {
        /// CIM session (WinRM) from the site server to the host.
        case viaSiteServer
        /// SSH to the host itself, with this target's settings (its `host`
        /// is replaced by the host's name).
        case directSSH(SSHTarget)
    }

    public let siteServer: PowerShellRunner
    public let siteCode: String
    /// New collections are limited to this one ("All Systems" by default).
    public let limitingCollection: String
    public let clientAccess: ClientAccess

    public init(siteServer: PowerShellRunner, siteCode: String, limitingCollection: String = "All Systems",
                clientAccess: ClientAccess = .viaSiteServer) {
        self.siteServer = siteServer
        self.siteCode = siteCode
        self.limitingCollection = limitingCollection
        self.clientAccess = clientAccess
    }

    public func collectionMembers(_ collection: String) async throws(BackendError) -> [String] {
        let reply = try await siteServer.run(ConfigMgrScripts.members(site: siteCode, collection: collection),
                                             operation: "Get-CMCollectionMember '\(collection)'")
        return reply.elements.compactMap(\.string)
    }

    public func ensureCollection(_ collection: String) async throws(BackendError) {
        _ = try await siteServer.run(ConfigMgrScripts.ensureCollection(site: siteCode, collection: collection,
                                                                       limitingCollection: limitingCollection),
                                     operation: "New-CMDeviceCollection '\(collection)'")
    }

    public func addHost(_ host: String, toCollection collection: String) async throws(BackendError) {
        _ = try await siteServer.run(ConfigMgrScripts.addMember(site: siteCode, host: host, collection: collection),
                                     operation: "Add-CMDeviceCollectionDirectMembershipRule '\(host)' -> '\(collection)'")
    }

    /// Site-side client notification, then the client's own machine policy
    /// retrieval and evaluation schedules (either alone can be lost: the
    /// fast channel needs the client online, the schedules need WinRM/SSH).
    public func refreshPolicy(host: String) async throws(BackendError) {
        _ = try await siteServer.run(ConfigMgrScripts.notifyClient(site: siteCode, host: host),
                                     operation: "Invoke-CMClientNotification '\(host)'")
        _ = try await client(host).run(ClientSDKScripts.triggerSchedules(computer: computer(host),
                                                                         [.machinePolicyRetrieval, .machinePolicyEvaluation]),
                                       operation: "TriggerSchedule machine policy on '\(host)'")
    }

    public func triggerInstall(host: String, updateIds: [String]) async throws(BackendError) {
        let ids = updateIds.map(UpdateIdentity.normalize)
        _ = try await client(host).run(ClientSDKScripts.install(computer: computer(host), normalizedIds: ids),
                                       operation: "InstallUpdates on '\(host)'")
    }

    public func compliance(host: String, updateIds: [String]) async throws(BackendError) -> ComplianceReport {
        let ids = updateIds.map(UpdateIdentity.normalize)
        let reply = try await client(host).run(ClientSDKScripts.compliance(computer: computer(host), normalizedIds: ids),
                                               operation: "CCM_SoftwareUpdate on '\(host)'")
        return ComplianceMapping.report(requested: updateIds, reply: reply)
    }

    public func pendingReboot(host: String) async throws(BackendError) -> Bool {
        let reply = try await client(host).run(ClientSDKScripts.rebootState(computer: computer(host)),
                                               operation: "DetermineIfRebootPending on '\(host)'")
        return reply["rebootPending"].bool == true || reply["hardRebootPending"].bool == true
    }

    public func reboot(host: String) async throws(BackendError) {
        _ = try await client(host).run(ClientSDKScripts.reboot(computer: computer(host)), operation: "reboot '\(host)'")
    }

    /// A software update group as a job's update list: its updates by
    /// update GUID, leaving out expired and superseded ones (a host that has
    /// the newer update never needs the older, and no client installs an
    /// expired one: a saga would wait for compliance that never comes).
    /// nil when the site has no group of that name. Scoped per host at
    /// submission by `updatesNotNeeded(in:onHosts:)`.
    public func updateList(named name: String) async throws(BackendError) -> UpdateList? {
        let reply: JSONValue
        do {
            reply = try await siteServer.run(ConfigMgrScripts.updateGroup(site: siteCode, name: name),
                                             operation: "Get-CMSoftwareUpdateGroup '\(name)'")
        } catch where error.code == .notFound {
            return nil
        }
        return try Self.updateList(named: name, reply: reply)
    }

    /// What the site knows each host does not need of a group's updates
    /// (a monthly group usually holds updates for several OS builds): those
    /// would stay pending on that host until the install timeout.
    public func updatesNotNeeded(in list: UpdateList, onHosts hosts: [String]) async throws(BackendError) -> [String: Set<String>] {
        guard !hosts.isEmpty else { return [:] }
        let reply = try await siteServer.run(ConfigMgrScripts.notRequired(site: siteCode, group: list.name, hosts: hosts),
                                             operation: "SMS_UpdateComplianceStatus of group '\(list.name)' on \(hosts.count) host(s)")
        let inList = Set(list.updateIds.map(UpdateIdentity.normalize))
        var notNeeded: [String: Set<String>] = [:]
        for entry in reply.elements {
            guard let host = entry["host"].string else { continue }
            let ids = entry["notRequired"].elements.compactMap(\.string).filter { inList.contains(UpdateIdentity.normalize($0)) }
            if !ids.isEmpty { notNeeded[host] = Set(ids.map(UpdateIdentity.normalize)) }
        }
        return notNeeded
    }

    static func updateList(named name: String, reply: JSONValue) throws(BackendError) -> UpdateList {
        var ids: [String] = []
        for update in reply["updates"].elements where update["expired"].bool != true && update["superseded"].bool != true {
            guard let id = update["updateId"].string, !id.isEmpty else {
                throw BackendError(.internalError, "software update group '\(name)' lists an update without a CI_UniqueID: \(update)")
            }
            ids.append(id)
        }
        return UpdateList(name: name, updateIds: ids)
    }

    // MARK: Client access

    func client(_ host: String) -> PowerShellRunner {
        switch clientAccess {
        case .viaSiteServer:
            return siteServer
        case .directSSH(var target):
            target.host = host
            return PowerShellRunner(target: target, sshPath: siteServer.sshPath, environment: siteServer.environment,
                                    logger: siteServer.logger)
        }
    }

    func computer(_ host: String) -> String? {
        clientAccess == .viaSiteServer ? host : nil
    }
}
