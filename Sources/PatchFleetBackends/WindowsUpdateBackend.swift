import Foundation
import Logging
import PatchFleetCore

/// UpdateBackend for hosts that patch from Windows Update or WSUS, without
/// Configuration Manager: each host is reached over its own SSH (the
/// configuration's target, with `host` replaced by the host's name) and its
/// Windows Update Agent does the work. There are no collections: jobs
/// target clusters or hosts, and the deploy step's collection calls do
/// nothing.
public struct WindowsUpdateBackend: UpdateBackend {
    public let hostTarget: SSHTarget
    public let sshPath: String
    public let environment: [String: String]
    public let logger: Logger
    let selection: WindowsUpdateScripts.ServerSelection

    public enum Source: String, Codable, Sendable, CaseIterable {
        /// The host's own policy: its WSUS server if one is set, else Windows Update.
        case `default`
        /// The WSUS server the host's policy names.
        case wsus
        /// Microsoft's Windows Update service, whatever the policy says.
        case windowsUpdate

        var selection: WindowsUpdateScripts.ServerSelection {
            switch self {
            case .default: .default
            case .wsus: .managedServer
            case .windowsUpdate: .windowsUpdate
            }
        }
    }

    public init(hostTarget: SSHTarget, source: Source = .default, sshPath: String = "ssh", environment: [String: String] = [:],
                logger: Logger = Logger(label: "patchfleet.backends.windowsupdate")) {
        self.hostTarget = hostTarget
        self.selection = source.selection
        self.sshPath = sshPath
        self.environment = environment
        self.logger = logger
    }

    func runner(_ host: String) -> PowerShellRunner {
        var target = hostTarget
        target.host = host
        return PowerShellRunner(target: target, sshPath: sshPath, environment: environment, logger: logger)
    }

    public func collectionMembers(_ collection: String) async throws(BackendError) -> [String] {
        throw BackendError(.notFound, "Windows Update has no device collections ('\(collection)'): target clusters or hosts")
    }

    /// Nothing to create: a host asks its own update source.
    public func ensureCollection(_ collection: String) async throws(BackendError) {}
    public func addHost(_ host: String, toCollection collection: String) async throws(BackendError) {}
    /// The install step searches afresh; there is no policy to fetch.
    public func refreshPolicy(host: String) async throws(BackendError) {}

    public func triggerInstall(host: String, updateIds: [String]) async throws(BackendError) {
        _ = try await runner(host).run(WindowsUpdateScripts.install(normalizedIds: updateIds.map(UpdateIdentity.normalize),
                                                                     selection: selection),
                                       operation: "Windows Update install task on '\(host)'")
    }

    public func compliance(host: String, updateIds: [String]) async throws(BackendError) -> ComplianceReport {
        let reply = try await runner(host).run(WindowsUpdateScripts.compliance(normalizedIds: updateIds.map(UpdateIdentity.normalize)),
                                               operation: "Windows Update search on '\(host)'")
        return WindowsUpdateMapping.report(requested: updateIds, reply: reply)
    }

    public func pendingReboot(host: String) async throws(BackendError) -> Bool {
        try await runner(host).run(WindowsUpdateScripts.rebootState(), operation: "restart state of '\(host)'")["rebootPending"].bool == true
    }

    public func reboot(host: String) async throws(BackendError) {
        _ = try await runner(host).run(WindowsUpdateScripts.reboot(), operation: "reboot '\(host)'")
    }
}

/// The agent's answer as a report of exactly the requested ids, in the
/// caller's spelling. Installed: the agent lists it installed, or the
/// install task reported it succeeded. Failed: the task's result for it
/// was failed or aborted (with its HRESULT); the task itself failed; the
/// task finished and the agent offers no such update to this host (not
/// applicable, superseded, or not approved on WSUS), or still lists it
/// missing with no result (hidden on the host); or the task stopped before
/// finishing (killed, or never ran). Waiting would never end in any of
/// those. Anything else is pending. No restart is reported while the task
/// is at work: a restart then would cut the install off.
enum WindowsUpdateMapping {
    /// `IUpdateInstaller` result codes.
    enum ResultCode: Int {
        case notStarted = 0, inProgress, succeeded, succeededWithErrors, failed, aborted
    }

    static let unfinishedStates: Set<String> = ["queued", "searching", "downloading", "installing"]

    static func report(requested: [String], reply: JSONValue) -> ComplianceReport {
        let missing = reply["missing"].elements, installedList = reply["installed"].elements
        let status = reply["status"]
        let state = status["state"].string ?? ""
        // Queued: Task Scheduler has it and will run it.
        let taskRunning = ["Running", "Queued"].contains(reply["task"].string ?? "")
        let unreadable = reply["statusUnreadable"].bool == true
        // Only an outcome for these ids counts: the file may be a former job's.
        let statusIds = Set(status["ids"].elements.compactMap(\.string).map(UpdateIdentity.normalize))
        let finished = !taskRunning && ["done", "failed"].contains(state)
        // A queued status with the task not (yet) running is left to the
        // install timeout: the task may simply not have started.
        let stalled = !taskRunning && !unreadable && unfinishedStates.contains(state) && state != "queued"
        var installed: [String] = [], pending: [String] = [], failed: [UpdateFailure] = []
        var atWork = taskRunning || unreadable
        for id in requested {
            let key = UpdateIdentity.normalize(id)
            let ours = statusIds.contains(key)
            if ours && unfinishedStates.contains(state) { atWork = true }
            let result = ours ? status["results"].elements.first { matches($0, key) } : nil
            let code = result?["resultCode"].int.flatMap(ResultCode.init(rawValue:))
            let stillMissing = missing.contains { matches($0, key) }
            if installedList.contains(where: { matches($0, key) }) || code == .succeeded || code == .succeededWithErrors {
                installed.append(id)
            } else if let result, code == .failed || code == .aborted {
                failed.append(UpdateFailure(updateId: id, code: ComplianceMapping.hex(result["hresult"].int ?? 0),
                                            message: "\(result["title"].string ?? id): result code \(result["resultCode"].int ?? -1) (\(code == .aborted ? "aborted" : "failed"))"))
            } else if ours && finished && state == "failed" {
                failed.append(UpdateFailure(updateId: id, code: "task", message: "the Windows Update install task failed: \(status["detail"].string ?? "")"))
            } else if ours && finished && !stillMissing {
                failed.append(UpdateFailure(updateId: id, code: "notOffered",
                                            message: "Windows Update does not offer \(id) to this host (not applicable, superseded, or not approved on WSUS)"))
            } else if ours && finished {
                failed.append(UpdateFailure(updateId: id, code: "notInstalled",
                                            message: "the Windows Update install task finished without installing \(id) (hidden on this host?)"))
            } else if ours && stalled {
                let last = reply["lastTaskResult"].int.map { ComplianceMapping.hex($0) } ?? "none"
                failed.append(UpdateFailure(updateId: id, code: "taskStopped",
                                            message: "the Windows Update install task stopped before finishing (at '\(state)', last task result \(last))"))
            } else {
                pending.append(id)
            }
        }
        return ComplianceReport(installed: installed, pending: pending, failed: failed,
                                pendingReboot: reply["rebootPending"].bool == true && !atWork)
    }

    /// A listed update is this id if one of its KB numbers or its update GUID is.
    static func matches(_ update: JSONValue, _ key: String) -> Bool {
        if update["updateId"].string.map(UpdateIdentity.normalize) == key { return true }
        let kbs = (update["kb"].string ?? "").split(separator: ",").map { UpdateIdentity.normalize(String($0)) }
        return kbs.contains(key)
    }
}
