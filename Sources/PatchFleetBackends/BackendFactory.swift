import Logging
import PatchFleetCore

/// The two backends a worker of one datacenter uses.
public struct BackendSet: Sendable {
    public var virtualization: any VirtualizationBackend
    public var updates: any UpdateBackend
    /// "vmm+configmgr", "failoverCluster+configmgr": what a worker logs.
    public var label: String
}

public enum BackendFactory {
    /// Builds the backends of `datacenter`; refuses an invalid configuration
    /// with every problem listed.
    public static func make(_ configuration: BackendConfiguration, datacenter: String, environment: [String: String] = [:],
                            logger: Logger = Logger(label: "patchfleet.backends")) throws(BackendError) -> BackendSet {
        let problems = configuration.problems()
        guard problems.isEmpty else {
            throw BackendError(.internalError, "invalid backend configuration: " + problems.map(\.description).joined(separator: "; "))
        }
        guard let dc = configuration.datacenters[datacenter] else {
            throw BackendError(.notFound, "no backend configuration for datacenter '\(datacenter)' (have: \(configuration.datacenters.keys.sorted().joined(separator: ", ")))")
        }
        func runner(_ target: SSHTarget) -> PowerShellRunner {
            PowerShellRunner(target: target, sshPath: configuration.sshPath, environment: environment, logger: logger)
        }
        let v = dc.virtualization
        let polling = v.jobPolling ?? JobPolling()
        let virtualization: any VirtualizationBackend = switch v.kind {
        case .vmm: VMMBackend(runner: runner(v.target), server: v.vmmServer ?? "localhost", polling: polling)
        case .failoverCluster: FailoverClusterBackend(runner: runner(v.target), clusters: v.clusters ?? [],
                                                      failback: v.failback ?? .noFailback, polling: polling)
        }
        let u = dc.updates
        let updates: any UpdateBackend
        switch u.kind {
        case .configMgr:
            let access: ConfigMgrBackend.ClientAccess = switch (u.clientAccess ?? .viaSiteServer, u.hostTarget) {
            case (.directSSH, let template?): .directSSH(template)
            default: .viaSiteServer
            }
            updates = ConfigMgrBackend(siteServer: runner(u.target), siteCode: u.siteCode ?? "",
                                       limitingCollection: u.limitingCollection ?? "All Systems", clientAccess: access)
        case .windowsUpdate:
            updates = WindowsUpdateBackend(hostTarget: u.target, source: u.source ?? .default, sshPath: configuration.sshPath,
                                           environment: environment, logger: logger)
        }
        return BackendSet(virtualization: virtualization, updates: updates, label: "\(v.kind.rawValue)+\(u.kind.rawValue.lowercased())")
    }
}
