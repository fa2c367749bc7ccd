import Foundation

/// Where an HTTP endpoint listens: `HOST:PORT` (`[::1]:9470` for IPv6).
/// Parsed strictly, so a typo in a manifest fails the start with its reason
/// instead of listening somewhere nobody scrapes.
public struct HTTPAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(HTTPAddressError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let hostPart: Substring
        let portPart: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]"),
                  trimmed[trimmed.index(after: close)...].hasPrefix(":") else {
                throw HTTPAddressError("'\(text)' is not HOST:PORT (IPv6 is written [::1]:9470)")
            }
            hostPart = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            portPart = trimmed[trimmed.index(close, offsetBy: 2)...]
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else {
                throw HTTPAddressError("'\(text)' is not HOST:PORT (for example 127.0.0.1:9470)")
            }
            hostPart = trimmed[..<colon]
            portPart = trimmed[trimmed.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw HTTPAddressError("'\(text)' has no host (0.0.0.0 listens everywhere)") }
        guard let port = Int(portPart), (0...65_535).contains(port) else {
            throw HTTPAddressError("'\(text)': the port must be a number from 0 to 65535")
        }
        self.init(host: String(hostPart), port: port)
    }

    /// Only this machine can reach it: no token is needed to keep others out.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct HTTPAddressError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
