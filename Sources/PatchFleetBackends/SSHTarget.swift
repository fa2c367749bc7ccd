/// How to reach one Windows management host (VMM server, cluster node,
/// ConfigMgr site server) over OpenSSH. Credentials are paths to files,
/// never values: nothing secret is on a command line, in the environment or
/// in a log.
public struct SSHTarget: Codable, Sendable, Hashable {
    public enum HostKeyChecking: String, Codable, Sendable, CaseIterable {
        /// Only hosts already in known_hosts (the production setting).
        case yes
        /// Trust on first use, then pin.
        case acceptNew = "accept-new"
        /// Never check (labs only).
        case no
    }

    public var host: String
    public var port: Int?
    public var user: String
    /// Private key file (key authentication, BatchMode).
    public var identityFile: String?
    /// File whose first line is the password (password authentication via
    /// SSH_ASKPASS; see `AskPass`).
    public var passwordFile: String?
    public var knownHostsFile: String?
    public var hostKeyChecking: HostKeyChecking
    public var connectTimeoutSeconds: Int
    /// Default per-call limit; long operations pass their own.
    public var callTimeoutSeconds: Double
    /// Calls in flight to this host at once (sshd's MaxSessions/MaxStartups
    /// and the management server's own load both argue for a small number).
    public var maxConcurrentCalls: Int
    /// A reply larger than this is a fault, not data.
    public var maxOutputBytes: Int

    public init(host: String, port: Int? = nil, user: String, identityFile: String? = nil, passwordFile: String? = nil,
                knownHostsFile: String? = nil, hostKeyChecking: HostKeyChecking = .yes, connectTimeoutSeconds: Int = 15,
                callTimeoutSeconds: Double = 300, maxConcurrentCalls: Int = 4, maxOutputBytes: Int = 16 << 20) {
        self.host = host
        self.port = port
        self.user = user
        self.identityFile = identityFile
        self.passwordFile = passwordFile
        self.knownHostsFile = knownHostsFile
        self.hostKeyChecking = hostKeyChecking
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.callTimeoutSeconds = callTimeoutSeconds
        self.maxConcurrentCalls = maxConcurrentCalls
        self.maxOutputBytes = maxOutputBytes
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case host, port, user, identityFile, passwordFile, knownHostsFile, hostKeyChecking
        case connectTimeoutSeconds, callTimeoutSeconds, maxConcurrentCalls, maxOutputBytes
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SSHTarget(host: "", user: "")
        // Optional so a per-host template (ConfigMgr direct access) can omit it;
        // validation requires it everywhere else.
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? ""
        port = try c.decodeIfPresent(Int.self, forKey: .port)
        user = try c.decode(String.self, forKey: .user)
        identityFile = try c.decodeIfPresent(String.self, forKey: .identityFile)
        passwordFile = try c.decodeIfPresent(String.self, forKey: .passwordFile)
        knownHostsFile = try c.decodeIfPresent(String.self, forKey: .knownHostsFile)
        hostKeyChecking = try c.decodeIfPresent(HostKeyChecking.self, forKey: .hostKeyChecking) ?? d.hostKeyChecking
        connectTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .connectTimeoutSeconds) ?? d.connectTimeoutSeconds
        callTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .callTimeoutSeconds) ?? d.callTimeoutSeconds
        maxConcurrentCalls = try c.decodeIfPresent(Int.self, forKey: .maxConcurrentCalls) ?? d.maxConcurrentCalls
        maxOutputBytes = try c.decodeIfPresent(Int.self, forKey: .maxOutputBytes) ?? d.maxOutputBytes
    }
}
