import Foundation
import Testing
@testable import PatchFleetBackends

/// Every builder, every hostile name: the script's skeleton (everything but
/// the single-quoted literals) is identical to the one built with a benign
/// name, and the hostile name comes back out of a literal intact.
@Suite("Injection")
struct InjectionTests {
    typealias Builder = @Sendable (String) -> PowerShellScript

    static let builders: [(String, Builder)] = [
        ("vmm.listHosts", { VMMScripts.listHosts(server: "vmm01", cluster: $0) }),
        ("vmm.server", { VMMScripts.listClusters(server: $0) }),
        ("vmm.host", { VMMScripts.host(server: "vmm01", name: $0) }),
        ("vmm.listVMs", { VMMScripts.listVMs(server: "vmm01", host: $0) }),
        ("vmm.listVMsOnHosts", { VMMScripts.listVMs(server: "vmm01", onHosts: ["hv01", $0]) }),
        ("vmm.clusterSnapshot", { VMMScripts.clusterSnapshot(server: "vmm01", cluster: $0) }),
        ("vmm.vm", { VMMScripts.vm(server: "vmm01", name: $0) }),
        ("vmm.disable", { VMMScripts.disableHost(server: "vmm01", host: $0, moveWithinCluster: true) }),
        ("vmm.enable", { VMMScripts.enableHost(server: "vmm01", host: $0) }),
        ("vmm.placement", { VMMScripts.setAvailableForPlacement(server: "vmm01", host: $0, false) }),
        ("vmm.move.vm", { VMMScripts.moveVM(server: "vmm01", vm: $0, to: "hv02") }),
        ("vmm.move.host", { VMMScripts.moveVM(server: "vmm01", vm: "web01", to: $0) }),
        ("vmm.save", { VMMScripts.power(server: "vmm01", vm: $0, .saveState) }),
        ("vmm.shutdown", { VMMScripts.power(server: "vmm01", vm: $0, .shutdown) }),
        ("vmm.start", { VMMScripts.power(server: "vmm01", vm: $0, .start) }),
        ("vmm.job", { VMMScripts.job(server: "vmm01", id: $0) }),
        ("cluster.clusters", { ClusterScripts.listNodes([$0, "CL45"], cluster: $0) }),
        ("cluster.node", { ClusterScripts.node(["CL44"], name: $0) }),
        ("cluster.vms", { ClusterScripts.listVMs(["CL44"], host: $0, named: $0) }),
        ("cluster.vmsOnHosts", { ClusterScripts.listVMs(["CL44"], onHosts: ["hv01", $0]) }),
        ("cluster.snapshot", { ClusterScripts.clusterSnapshot(["CL44", $0], cluster: $0) }),
        ("cluster.suspend", { ClusterScripts.suspend(["CL44"], node: $0, drain: true) }),
        ("cluster.resume", { ClusterScripts.resume(["CL44"], node: $0, failback: .immediate) }),
        ("cluster.migrate", { ClusterScripts.migrate(["CL44"], vm: $0, cluster: $0, to: $0, .live) }),
        ("cluster.moveGroup", { ClusterScripts.moveGroup(["CL44"], vm: $0, cluster: "CL44", to: $0) }),
        ("cluster.save", { ClusterScripts.power(["CL44"], vm: $0, host: $0, cluster: "CL44", clustered: true, .save) }),
        ("cluster.stop", { ClusterScripts.power(["CL44"], vm: $0, host: $0, cluster: "CL44", clustered: true, .shutdown) }),
        ("cluster.start", { ClusterScripts.power(["CL44"], vm: $0, host: $0, cluster: $0, clustered: true, .start) }),
        ("cluster.startLocal", { ClusterScripts.power(["CL44"], vm: $0, host: $0, cluster: $0, clustered: false, .start) }),
        ("cm.site", { ConfigMgrScripts.members(site: $0, collection: "Wave 1") }),
        ("cm.members", { ConfigMgrScripts.members(site: "PS1", collection: $0) }),
        ("cm.ensure", { ConfigMgrScripts.ensureCollection(site: "PS1", collection: $0, limitingCollection: $0) }),
        ("cm.add.host", { ConfigMgrScripts.addMember(site: "PS1", host: $0, collection: "Wave 1") }),
        ("cm.add.collection", { ConfigMgrScripts.addMember(site: "PS1", host: "hv01", collection: $0) }),
        ("cm.notify", { ConfigMgrScripts.notifyClient(site: "PS1", host: $0) }),
        ("cm.updateGroup", { ConfigMgrScripts.updateGroup(site: "PS1", name: $0) }),
        ("cm.notRequired.group", { ConfigMgrScripts.notRequired(site: "PS1", group: $0, hosts: ["hv01"]) }),
        ("cm.notRequired.host", { ConfigMgrScripts.notRequired(site: "PS1", group: "Nov", hosts: [$0, "hv02"]) }),
        ("wu.install", { WindowsUpdateScripts.install(normalizedIds: [$0, "5031364"], selection: .default) }),
        ("wu.compliance", { WindowsUpdateScripts.compliance(normalizedIds: [$0]) }),
        ("client.install", { ClientSDKScripts.install(computer: $0, normalizedIds: [$0, "5031364"]) }),
        ("client.compliance", { ClientSDKScripts.compliance(computer: $0, normalizedIds: [$0]) }),
        ("client.reboot", { ClientSDKScripts.reboot(computer: $0) }),
        ("client.rebootState", { ClientSDKScripts.rebootState(computer: $0) }),
        ("client.triggers", { ClientSDKScripts.triggerSchedules(computer: $0, [.softwareUpdateScan]) }),
    ]

    @Test(arguments: HostileNames.all)
    func hostileNamesNeverChangeTheScript(_ hostile: String) {
        for (label, build) in Self.builders {
            let benign = PowerShellLexer.split(build("benign01").text)
            let attacked = PowerShellLexer.split(build(hostile).text)
            #expect(attacked.skeleton == benign.skeleton, "\(label): skeleton changed for \(hostile.debugDescription)")
            #expect(attacked.literals.contains(hostile), "\(label): \(hostile.debugDescription) did not survive as one literal")
            #expect(attacked.literals.count == benign.literals.count, "\(label)")
        }
    }

    @Test func theEnvelopeIsAlwaysThere() {
        for (label, build) in Self.builders {
            let text = build("hv01").text
            #expect(text.hasPrefix("$ErrorActionPreference = 'Stop'"), "\(label)")
            #expect(text.contains("try {") && text.contains("} catch {"), "\(label)")
            #expect(text.contains("ConvertTo-Json -InputObject $pfOut -Depth 8 -Compress"), "\(label)")
        }
    }
}

@Suite("Injection test control")
struct InjectionControlTests {
    /// The check would catch a builder that interpolates without escaping.
    @Test func naiveInterpolationIsDetected() {
        let naive = { (name: String) in "Get-SCVirtualMachine -Name '\(name)' | Out-Null" }
        let hostile = "web01'; Stop-Computer; '"
        #expect(PowerShellLexer.split(naive(hostile)).skeleton != PowerShellLexer.split(naive("benign")).skeleton)
    }
}
