import Foundation
import PatchFleetCore
import Yams

/// Which real backends each datacenter uses and how to reach them. Secrets
/// appear only as file paths (identityFile, passwordFile).
public struct BackendConfiguration: Codable, Sendable, Hashable {
    /// The ssh client; tests point it at the fake.
    public var sshPath: String
    public var datacenters: [String: DatacenterBackends]

    public init(sshPath: String = "ssh", datacenters: [String: DatacenterBackends]) {
        self.sshPath = sshPath
        self.datacenters = datacenters
    }

    enum CodingKeys: String, CodingKey { case sshPath, datacenters }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sshPath = try c.decodeIfPresent(String.self, forKey: .sshPath) ?? "ssh"
        datacenters = try c.decode([String: DatacenterBackends].self, forKey: .datacenters)
    }

    public enum Format: Sendable { case yaml, json, detect }

    /// Parses YAML or JSON (detected by a leading '{'). Validation is
    /// separate (`problems`) so a person sees every problem at once.
    public static func load(_ text: String, format: Format = .detect) throws -> BackendConfiguration {
        let json = format == .json || (format == .detect && text.drop { $0.isWhitespace }.first == "{")
        if json { return try JSONDecoder().decode(BackendConfiguration.self, from: Data(text.utf8)) }
        return try YAMLDecoder().decode(BackendConfiguration.self, from: text)
    }

    public static func load(contentsOf url: URL) throws -> BackendConfiguration {
        try load(try String(contentsOf: url, encoding: .utf8), format: url.pathExtension.lowercased() == "json" ? .json : .detect)
    }
}

public struct DatacenterBackends: Codable, Sendable, Hashable {
    public var virtualization: VirtualizationSettings
    public var updates: UpdateSettings

    public init(virtualization: VirtualizationSettings, updates: UpdateSettings) {
        self.virtualization = virtualization
        self.updates = updates
    }
}

public struct VirtualizationSettings: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case vmm, failoverCluster }
    public var kind: Kind
    /// The management host the scripts run on (VMM server, cluster node).
    public var target: SSHTarget
    /// VMM: the server Get-SCVMMServer connects to from the management host.
    public var vmmServer: String?
    /// Failover Clustering: the clusters managed from this host.
    public var clusters: [String]?
    public var failback: ClusterFailback?
    public var jobPolling: JobPolling?

    public init(kind: Kind, target: SSHTarget, vmmServer: String? = nil, clusters: [String]? = nil,
                failback: ClusterFailback? = nil, jobPolling: JobPolling? = nil) {
        self.kind = kind
        self.target = target
        self.vmmServer = vmmServer
        self.clusters = clusters
        self.failback = failback
        self.jobPolling = jobPolling
    }
}

public struct UpdateSettings: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case configMgr, windowsUpdate }
    public enum ClientAccessKind: String, Codable, Sendable, CaseIterable { case viaSiteServer, directSSH }
    public var kind: Kind
    /// configMgr: the site server (or a host with the console). windowsUpdate:
    /// how to reach each host over SSH (its `host` is replaced by the host's name).
    public var target: SSHTarget
    /// configMgr only.
    public var siteCode: String?
    /// windowsUpdate only: where hosts look for updates (default: their own policy).
    public var source: WindowsUpdateBackend.Source?
    public var limitingCollection: String?
    public var clientAccess: ClientAccessKind?
    /// For `directSSH`: how to reach each host (its `host` is ignored).
    public var hostTarget: SSHTarget?

    public init(kind: Kind = .configMgr, target: SSHTarget, siteCode: String? = nil, limitingCollection: String? = nil,
                clientAccess: ClientAccessKind? = nil, hostTarget: SSHTarget? = nil, source: WindowsUpdateBackend.Source? = nil) {
        self.kind = kind
        self.target = target
        self.siteCode = siteCode
        self.source = source
        self.limitingCollection = limitingCollection
        self.clientAccess = clientAccess
        self.hostTarget = hostTarget
    }
}
