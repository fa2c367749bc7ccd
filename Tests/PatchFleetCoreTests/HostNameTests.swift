import PatchFleetCore
import Testing

/// VMM names hosts by FQDN, Configuration Manager's collections by NetBIOS
/// name; a job's targets resolve across the two (`HostName`).
@Suite struct HostNameTests {
    @Test(arguments: [
        ("hv01.contoso.com", "HV01", true),
        ("HV01", "hv01.contoso.com", true),
        ("hv01.contoso.com", "HV01.CONTOSO.COM", true),
        ("hv01", "HV01", true),
        ("hv01.contoso.com", "hv01.fabrikam.com", false),  // two qualified names: equal or not at all
        ("hv01.contoso.com", "hv010", false),
        ("hv1", "hv01.contoso.com", false),
        // NetBIOS names stop at 15 characters.
        ("hyperv-prod-node01.contoso.com", "HYPERV-PROD-NOD", true),
        ("hyperv-prod-node01.contoso.com", "hyperv-prod-node01", true),
        ("hyperv-prod-node01.contoso.com", "HYPERV-PROD-NO", false),
        ("hv-short.contoso.com", "HV-SHORT-EXTRA", false),
    ])
    func namesMatchAcrossSpellings(a: String, b: String, same: Bool) {
        #expect(HostName.matches(a, b) == same)
    }

    static let hosts = [
        Host(name: "hv01.contoso.com", cluster: "CL1", memoryMB: 1024),
        Host(name: "hv02.contoso.com", cluster: "CL1", memoryMB: 1024),
        Host(name: "web01.contoso.com", cluster: "CL2", memoryMB: 1024),
        Host(name: "web01.fabrikam.com", cluster: "CL3", memoryMB: 1024),
        Host(name: "BRANCH-01", cluster: nil, memoryMB: 1024),
    ]

    @Test func theIndexFindsTheManagersNameOrSaysWhyNot() {
        let index = HostNameIndex(Self.hosts)
        #expect(index.lookup("hv01.contoso.com") == .found("hv01.contoso.com"))
        #expect(index.lookup("HV01") == .found("hv01.contoso.com"))
        #expect(index.lookup("HV02.Contoso.Com") == .found("hv02.contoso.com"))
        #expect(index.lookup("branch-01.contoso.com") == .found("BRANCH-01"))
        #expect(index.lookup("WEB01") == .ambiguous(["web01.contoso.com", "web01.fabrikam.com"]))
        #expect(index.lookup("web01.contoso.com") == .found("web01.contoso.com"))
        #expect(index.lookup("hv03") == .unknown)
        #expect(index.lookup("hv01.fabrikam.com") == .unknown)
    }

    /// Two long names that cut to the same NetBIOS name cannot be told apart
    /// by it: ambiguous, never the first.
    @Test func aCutNetBIOSNameFindsItsHostOrSaysItIsAmbiguous() {
        let one = HostNameIndex([Host(name: "hyperv-prod-node01.contoso.com", cluster: "CL", memoryMB: 1)])
        #expect(one.lookup("HYPERV-PROD-NOD") == .found("hyperv-prod-node01.contoso.com"))
        let two = HostNameIndex([Host(name: "hyperv-prod-node01.contoso.com", cluster: "CL", memoryMB: 1),
                                 Host(name: "hyperv-prod-node02.contoso.com", cluster: "CL", memoryMB: 1)])
        #expect(two.lookup("HYPERV-PROD-NOD") == .ambiguous(["hyperv-prod-node01.contoso.com", "hyperv-prod-node02.contoso.com"]))
        #expect(two.lookup("hyperv-prod-node02") == .found("hyperv-prod-node02.contoso.com"))
        // And the other way round: a standalone host VMM lists by NetBIOS name.
        let bare = HostNameIndex([Host(name: "HYPERV-BRANCH-0", cluster: nil, memoryMB: 1)])
        #expect(bare.lookup("hyperv-branch-01.contoso.com") == .found("HYPERV-BRANCH-0"))
    }

    static func inventory(collection members: [String]) -> Inventory {
        var inventory = Inventory(clusters: [Cluster(name: "CL1"), Cluster(name: "CL2"), Cluster(name: "CL3")], hosts: Self.hosts)
        inventory.collections = [DeviceCollection(name: "Hyper-V hosts", members: members)]
        inventory.updateLists = [UpdateList(name: "Nov", updateIds: ["KB1"])]
        return inventory
    }

    static func job(_ targets: JobTargets) -> JobSpec {
        JobSpec(id: "j", targets: targets, updates: UpdateSelection(updateList: "Nov"))
    }

    /// Before, a collection's NetBIOS names matched no VMM host: the job was
    /// accepted with no hosts and "finished" having patched nothing.
    @Test func aCollectionOfNetBIOSNamesTargetsTheManagersHosts() {
        let inventory = Self.inventory(collection: ["HV02", "HV01", "branch-01"])
        let spec = Self.job(JobTargets(collection: "Hyper-V hosts"))
        #expect(JobSpecValidator.validate(spec, against: inventory).isEmpty)
        #expect(TargetResolver.resolve(spec, in: inventory) == [
            TargetHost(host: "hv01.contoso.com", cluster: "CL1"), TargetHost(host: "hv02.contoso.com", cluster: "CL1"),
            TargetHost(host: "BRANCH-01", cluster: nil),
        ])
    }

    @Test func hostsNamedShortResolveToTheManagersNames() {
        let inventory = Self.inventory(collection: [])
        let spec = Self.job(JobTargets(hosts: ["HV02", "web01.fabrikam.com"]))
        #expect(JobSpecValidator.validate(spec, against: inventory).isEmpty)
        #expect(TargetResolver.resolve(spec, in: inventory).map(\.host) == ["hv02.contoso.com", "web01.fabrikam.com"])
    }

    @Test func unknownAndAmbiguousNamesAreRefusedByName() {
        let inventory = Self.inventory(collection: ["HV01", "SQL07", "WEB01", "FILE9"])
        let byCollection = JobSpecValidator.validate(Self.job(JobTargets(collection: "Hyper-V hosts")), against: inventory)
        #expect(byCollection.map(\.description) == [
            "targets.collection collection 'Hyper-V hosts' lists 2 member(s) the virtualization manager does not know as hosts: "
                + "SQL07, FILE9; patch them outside PatchFleet or take them out of the collection",
            "targets.collection collection 'Hyper-V hosts' lists member(s) whose short name matches several hosts: "
                + "WEB01 (any of web01.contoso.com, web01.fabrikam.com)",
        ])
        let byHosts = JobSpecValidator.validate(Self.job(JobTargets(hosts: ["web01", "hv09"])), against: inventory)
        #expect(byHosts.map(\.description) == [
            "targets.hosts[0] names 'web01', which could be any of web01.contoso.com, web01.fabrikam.com; give the full name",
            "targets.hosts[1] names unknown host 'hv09'",
        ])
        let empty = Self.inventory(collection: [])
        #expect(JobSpecValidator.validate(Self.job(JobTargets(collection: "Hyper-V hosts")), against: empty).map(\.description)
                == ["targets.collection collection 'Hyper-V hosts' has no members"])
    }
}
