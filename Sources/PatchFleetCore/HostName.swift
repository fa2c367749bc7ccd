/// Host names as the managers spell them. VMM lists a host by its FQDN
/// ("hv01.contoso.com"); a Configuration Manager collection lists the same
/// machine by its NetBIOS name ("HV01"); a person types either. Two names
/// are the same host if they are equal ignoring case, or if exactly one of
/// them is qualified and its first label equals the other ignoring case.
/// Two different qualified names never match ("hv01.contoso.com" is not
/// "hv01.fabrikam.com").
public enum HostName {
    public static func matches(_ a: String, _ b: String) -> Bool {
        if a.lowercased() == b.lowercased() { return true }
        guard a.contains(".") != b.contains(".") else { return false }
        return shortName(a).lowercased() == shortName(b).lowercased()
    }

    /// The first DNS label.
    public static func shortName(_ name: String) -> Substring { name.prefix { $0 != "." } }
}

/// Finds a name among the inventory's hosts as `HostName.matches` compares
/// names, in one pass over the hosts (a collection of thousands of members
/// is resolved against thousands of hosts at every submission).
public struct HostNameIndex: Sendable {
    public enum Lookup: Sendable, Hashable {
        /// The inventory's own name for the host.
        case found(String)
        case unknown
        /// A short name that several qualified hosts share (or the reverse).
        case ambiguous([String])
    }

    private var exact: Set<String> = []
    private var byFoldedName: [String: [String]] = [:]
    /// Qualified names by their folded first label, and unqualified names by their folded self.
    private var qualifiedByShortName: [String: [String]] = [:]
    private var unqualified: [String: [String]] = [:]

    public init(_ hosts: [Host]) {
        for host in hosts where exact.insert(host.name).inserted {
            byFoldedName[host.name.lowercased(), default: []].append(host.name)
            if host.name.contains(".") {
                qualifiedByShortName[HostName.shortName(host.name).lowercased(), default: []].append(host.name)
            } else {
                unqualified[host.name.lowercased(), default: []].append(host.name)
            }
        }
    }

    public func lookup(_ name: String) -> Lookup {
        if exact.contains(name) { return .found(name) }
        if let names = byFoldedName[name.lowercased()] { return Self.one(names) }
        let candidates = name.contains(".")
            ? unqualified[HostName.shortName(name).lowercased()]
            : qualifiedByShortName[name.lowercased()]
        return candidates.map(Self.one) ?? .unknown
    }

    private static func one(_ names: [String]) -> Lookup {
        names.count == 1 ? .found(names[0]) : .ambiguous(names.sorted())
    }
}
