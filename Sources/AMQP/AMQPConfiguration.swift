import Foundation

/// TLS settings for an `amqps://` connection.
public struct TLSConfiguration: Sendable, Equatable {
    /// PEM file of the CA(s) that signed the broker's certificate.
    public var caCertificateFile: String?
    /// PEM client certificate and key, for mutual TLS.
    public var certificateFile: String?
    public var keyFile: String?
    /// Verify the broker's certificate chain (and its host name). On by default; turning
    /// it off is for throwaway test setups only.
    public var verifyPeer: Bool = true
    public var verifyHostname: Bool = true

    public init(caCertificateFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
                verifyPeer: Bool = true, verifyHostname: Bool = true) {
        self.caCertificateFile = caCertificateFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.verifyPeer = verifyPeer
        self.verifyHostname = verifyHostname
    }
}

/// Where and how to connect. Built from a URL in RabbitMQ's URI format:
///
///     amqp://user:password@host:5672/vhost?heartbeat=10&connection_timeout=5000
///     amqps://user:password@host:5671/vhost?cacertfile=/etc/ca.pem&certfile=...&keyfile=...&verify=verify_peer
///
/// The vhost is the percent-decoded path (`%2f` is `/`); an empty path means `/`.
public struct AMQPConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var vhost: String
    /// Heartbeat interval in seconds (0 disables; a dead peer is detected after two intervals).
    public var heartbeat: Int
    /// Time allowed for the TCP/TLS connect and login, in seconds.
    public var connectionTimeout: Double
    /// Time allowed for a synchronous broker call (declare, bind, ...), in seconds.
    public var rpcTimeout: Double
    public var frameMax: Int
    public var channelMax: Int
    public var tls: TLSConfiguration?
    /// Shown in the broker's management UI and logs (`connection_name`).
    public var connectionName: String?

    public init(host: String = "127.0.0.1", port: Int? = nil, user: String = "guest", password: String = "guest",
                vhost: String = "/", heartbeat: Int = 10, connectionTimeout: Double = 10, rpcTimeout: Double = 30,
                frameMax: Int = 131_072, channelMax: Int = 2047, tls: TLSConfiguration? = nil,
                connectionName: String? = nil) {
        self.host = host
        self.port = port ?? (tls == nil ? 5672 : 5671)
        self.user = user
        self.password = password
        self.vhost = vhost
        self.heartbeat = heartbeat
        self.connectionTimeout = connectionTimeout
        self.rpcTimeout = rpcTimeout
        self.frameMax = frameMax
        self.channelMax = channelMax
        self.tls = tls
        self.connectionName = connectionName
    }

    /// Parses an `amqp://` or `amqps://` URL; every problem is an `AMQPError.invalidURL` naming it.
    public init(url: String) throws(AMQPError) {
        guard let schemeEnd = url.range(of: "://") else {
            throw .invalidURL("'\(Self.redacted(url))' has no scheme; expected amqp:// or amqps://")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "amqp" || scheme == "amqps" else {
            throw .invalidURL("scheme '\(scheme)' is not amqp or amqps")
        }
        guard let components = URLComponents(string: url) else {
            throw .invalidURL("'\(Self.redacted(url))' is not a well-formed URL")
        }
        let isTLS = scheme == "amqps"
        self.init()
        host = components.host.map { $0.isEmpty ? "127.0.0.1" : $0 } ?? "127.0.0.1"
        if let rawPort = components.port {
            guard (1...65535).contains(rawPort) else { throw .invalidURL("port \(rawPort) is out of range 1-65535") }
            port = rawPort
        } else if let range = url.range(of: "://") , url[range.upperBound...].prefix(while: { $0 != "/" && $0 != "?" }).hasSuffix(":") {
            throw .invalidURL("port is empty")
        } else {
            port = isTLS ? 5671 : 5672
        }
        if let u = components.percentEncodedUser { user = u.removingPercentEncoding ?? u }
        if let p = components.percentEncodedPassword { password = p.removingPercentEncoding ?? p }
        let path = components.percentEncodedPath
        if path.isEmpty || path == "/" {
            vhost = "/"
        } else {
            let raw = String(path.dropFirst())
            guard !raw.contains("/") else {
                throw .invalidURL("vhost '\(raw)' contains an unescaped '/'; write it as %2f")
            }
            vhost = raw.removingPercentEncoding ?? raw
        }
        var tlsConfig: TLSConfiguration? = isTLS ? TLSConfiguration() : nil
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "heartbeat":
                guard let v = Int(value), v >= 0, v <= 65535 else {
                    throw .invalidURL("heartbeat '\(value)' must be a whole number of seconds from 0 to 65535")
                }
                heartbeat = v
            case "connection_timeout":
                guard let ms = Double(value), ms > 0 else {
                    throw .invalidURL("connection_timeout '\(value)' must be a positive number of milliseconds")
                }
                connectionTimeout = ms / 1000
            case "frame_max":
                guard let v = Int(value), v >= 4096 else { throw .invalidURL("frame_max '\(value)' must be >= 4096") }
                frameMax = v
            case "channel_max":
                guard let v = Int(value), v >= 1, v <= 65535 else { throw .invalidURL("channel_max '\(value)' must be 1-65535") }
                channelMax = v
            case "cacertfile", "certfile", "keyfile", "verify", "server_name_indication":
                guard isTLS else { throw .invalidURL("'\(item.name)' only applies to amqps:// URLs") }
                switch item.name {
                case "cacertfile": tlsConfig?.caCertificateFile = value
                case "certfile": tlsConfig?.certificateFile = value
                case "keyfile": tlsConfig?.keyFile = value
                case "verify":
                    switch value {
                    case "verify_peer": tlsConfig?.verifyPeer = true
                    case "verify_none": tlsConfig?.verifyPeer = false; tlsConfig?.verifyHostname = false
                    default: throw .invalidURL("verify '\(value)' must be verify_peer or verify_none")
                    }
                default: break // server_name_indication: librabbitmq always sends the host name
                }
            case "connection_name":
                connectionName = value
            default:
                throw .invalidURL("unknown query parameter '\(item.name)'")
            }
        }
        if let t = tlsConfig, (t.certificateFile == nil) != (t.keyFile == nil) {
            throw .invalidURL("certfile and keyfile must be given together")
        }
        tls = tlsConfig
    }

    /// The URL with the password replaced, for logs and error messages.
    public var redactedURL: String {
        let scheme = tls == nil ? "amqp" : "amqps"
        let vhostPart = vhost == "/" ? "%2f" : (vhost.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? vhost)
        return "\(scheme)://\(user):***@\(host):\(port)/\(vhostPart)"
    }

    static func redacted(_ url: String) -> String {
        // Hide anything between "://user:" and "@" so a password never reaches a log.
        guard let at = url.range(of: "@"), let schemeEnd = url.range(of: "://"),
              schemeEnd.upperBound < at.lowerBound else { return url }
        let userInfo = url[schemeEnd.upperBound..<at.lowerBound]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<userInfo.index(after: colon)]) + "***" + String(url[at.lowerBound...])
    }
}
