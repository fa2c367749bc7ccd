import Foundation
import PatchFleetCore
import Testing
@testable import PatchFleetBackends

/// One host through a whole patch cycle over VMM + ConfigMgr, in the order a
/// worker drives it, against the fake ssh replaying a stateful VMM server and
/// site server (Fixtures/patch-cycle.rules.json).
@Suite("Patch cycle over VMM + ConfigMgr")
struct PatchCycleTests {
    static let updates = ["KB5031364", "1d7a3e3b-52a6-4e7c-9a62-2f2f5a1f0c11"]

    @Test func wholeHostPatchCycle() async throws {
        let fake = try FakeSSH(rulesFile: "patch-cycle.rules.json")
        let vmm = VMMBackend(runner: fake.runner(.test("vmm01.contoso.com.\(UUID().uuidString.prefix(4))")), polling: .fast)
        let cm = ConfigMgrBackend(siteServer: fake.runner(.test("cm01.contoso.com.\(UUID().uuidString.prefix(4))")), siteCode: "PS1")

        // Precheck: the host is up, record where its VMs are (Rule 3).
        #expect(try await vmm.host(named: "hv01").status == .up)
        let placement = try await vmm.listVMs(host: "hv01")
        #expect(placement.map(\.name) == ["web01", "db01"])
        #expect(placement.allSatisfy { $0.highlyAvailable && $0.power == .running })

        // Drain: the saga asks for maintenance without the backend's own
        // migration; VMM would save the running VMs, so the host is cordoned.
        try await vmm.enterMaintenance(host: "hv01", migrateRunningVMs: false)
        #expect(try await vmm.host(named: "hv01").status == .paused)
        for vm in placement { try await vmm.liveMigrate(vm: vm.name, to: "hv02.contoso.com") }
        try await vmm.liveMigrate(vm: "web01", to: "hv02.contoso.com")  // a redelivered task: no second move
        #expect(try await vmm.listVMs(host: "hv01").isEmpty)
        try await vmm.enterMaintenance(host: "hv01", migrateRunningVMs: false)  // empty now: real maintenance mode
        #expect(try await vmm.host(named: "hv01").status == .maintenance)
        try await vmm.enterMaintenance(host: "hv01", migrateRunningVMs: false)  // redelivered: nothing to do

        // Deploy.
        try await cm.ensureCollection("Patch Wave 1")
        try await cm.addHost("hv01", toCollection: "Patch Wave 1")
        try await cm.refreshPolicy(host: "hv01")
        try await cm.triggerInstall(host: "hv01", updateIds: Self.updates)
        try await cm.triggerInstall(host: "hv01", updateIds: Self.updates)  // redelivered: nothing new started

        // Poll the deployed updates until installed, reboot pending.
        var report = try await cm.compliance(host: "hv01", updateIds: Self.updates)
        var polls = 1
        while !report.pending.isEmpty && polls < 10 {
            report = try await cm.compliance(host: "hv01", updateIds: Self.updates)
            polls += 1
        }
        #expect(polls == 3)
        #expect(report == ComplianceReport(installed: Self.updates, pending: [], failed: [], pendingReboot: true))

        // Remediate: no VM runs on the host, reboot it and wait for it.
        #expect(try await vmm.listVMs(host: "hv01").filter(\.power.consumesMemory).isEmpty)
        try await cm.reboot(host: "hv01")
        #expect(try await vmm.hostHealth("hv01").responding == false)
        var answers: [String] = []
        while answers.last != "no reboot pending" && answers.count < 5 {
            let error = await backendError { _ = try await cm.pendingReboot(host: "hv01") }
            answers.append(error.map { $0.code.rawValue } ?? "no reboot pending")
        }
        #expect(answers == ["unreachable", "no reboot pending"])  // restarting, then back
        #expect(try await cm.compliance(host: "hv01", updateIds: Self.updates)
                == ComplianceReport(installed: Self.updates, pending: [], failed: [], pendingReboot: false))

        // Exit maintenance, check health, move the VMs home.
        try await vmm.exitMaintenance(host: "hv01")
        let health = try await vmm.hostHealth("hv01")
        #expect(health.responding && health.healthy)
        #expect(try await vmm.host(named: "hv01").canReceiveVMs)
        for vm in placement { try await vmm.liveMigrate(vm: vm.name, to: vm.host) }
        #expect(try await vmm.listVMs(host: "hv01").map(\.name) == ["web01", "db01"])

        // The cmdlets, in the order the servers saw them.
        // (The install step's script, not the compliance poll's, which may
        // also start updates that arrived after it.)
        let actions = try fake.bodies().compactMap { body in
            ["Set-SCVMHost", "Move-SCVirtualMachine", "Disable-SCVMHost", "Enable-SCVMHost", "New-CMDeviceCollection",
             "Add-CMDeviceCollectionDirectMembershipRule", "Invoke-CMClientNotification", "$todo = @($all", "Restart-Computer"]
                .first { body.contains($0) }
                .map { $0 == "$todo = @($all" ? "InstallUpdates" : $0 }
        }
        #expect(actions == ["Set-SCVMHost", "Move-SCVirtualMachine", "Move-SCVirtualMachine", "Disable-SCVMHost",
                            "New-CMDeviceCollection", "Add-CMDeviceCollectionDirectMembershipRule", "Invoke-CMClientNotification",
                            "InstallUpdates", "InstallUpdates", "Restart-Computer", "Enable-SCVMHost", "Set-SCVMHost",
                            "Move-SCVirtualMachine", "Move-SCVirtualMachine"])
        #expect(try fake.calls().allSatisfy { $0.rule != nil })
    }
}
