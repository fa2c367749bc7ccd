/// Host names as the managers spell them. VMM lists a host by its FQDN
/// ("hv01.contoso.com"); a Configuration Manager collection lists the same
/// machine by its NetBIOS name ("HV01"), which is the first DNS label cut to
/// 15 characters ("hyperv-prod-node01.contoso.com" is "HYPERV-PROD-NOD");
/// a person types either. Two names are the same host if they are equal
/// ignoring case, or if exactly one of them is qualified and the other is
/// its NetBIOS name, ignoring case. Two different qualified names never
/// match ("hv01.contoso.com" is not "hv01.fabrikam.com").
public enum HostName {
    public static func matches(_ a: String, _ b: String) -> Bool {
        if a.lowercased() == b.lowercased() { return true }
        guard a.contains(".") != b.contains(".") else { return false }
        let (qualified, bare) = a.contains(".") ? (a, b) : (b, a)
        return netBIOSNames(of: qualified).contains(bare.lowercased())
    }

    /// The first DNS label.
    public static func shortName(_ name: String) -> Substring { name.prefix { $0 != "." } }

    /// NetBIOS names are at most this long.
    public static let netBIOSLength = 15

    /// The unqualified names a qualified one may go by, folded: its first
    /// label, and that label cut to NetBIOS's 15 characters when longer.
    static func netBIOSNames(of qualified: String) -> [String] {
        let label = shortName(qualified).lowercased()
        return label.count > netBIOSLength ? [label, String(label.prefix(netBIOSLength))] : [label]
    }
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
                for key in HostName.netBIOSNames(of: host.name) { qualifiedByShortName[key, default: []].append(host.name) }
            } else {
                unqualified[host.name.lowercased(), default: []].append(host.name)
            }
        }
    }

    /// A name spelled as the inventory has it, or equal to one ignoring
    /// case, is that host (even if it is also another host's short name);
    /// otherwise the hosts `HostName.matches` pairs it with.
    public func lookup(_ name: String) -> Lookup {
        if exact.contains(name) { return .found(name) }
        if let names = byFoldedName[name.lowercased()] { return Self.one(names) }
        let candidates = name.contains(".")
            ? HostName.netBIOSNames(of: name).flatMap { unqualified[$0] ?? [] }
            : qualifiedByShortName[name.lowercased()] ?? []
        return candidates.isEmpty ? .unknown : Self.one(candidates)
    }

    private static func one(_ names: [String]) -> Lookup {
        let distinct = Array(Set(names)).sorted()
        return distinct.count == 1 ? .found(distinct[0]) : .ambiguous(distinct)
    }
}
