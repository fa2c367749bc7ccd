import Foundation
import PatchFleetCore
import Testing
@testable import PatchFleetBackends

@Suite("VMM backend")
struct VMMBackendTests {
    typealias Rule = FakeSSH.Rule

    func backend(_ fake: FakeSSH) -> VMMBackend {
        VMMBackend(runner: fake.runner(), server: "vmm01.contoso.com", polling: .fast)
    }

    @Test func everyScriptConnectsToTheServer() async throws {
        let fake = try FakeSSH([.on("Get-SCVMHostCluster", reply: "vmm/clusters.json")])
        #expect(try await backend(fake).listClusters() == [Cluster(name: "CL44.contoso.com")])
        let script = try #require(try fake.calls().first?.script)
        #expect(script.contains("Import-Module VirtualMachineManager"))
        #expect(script.contains("$pfVmm = Get-SCVMMServer -ComputerName 'vmm01.contoso.com'"))
    }

    @Test func hostsMapOverallStateNotMaintenanceHost() async throws {
        let fake = try FakeSSH([.on("Get-SCVMHost -VMMServer $pfVmm", reply: "vmm/hosts.json")])
        let hosts = try await backend(fake).listHosts(cluster: nil)
        #expect(hosts.map(\.name) == ["hv01.contoso.com", "hv02.contoso.com", "hv03.contoso.com", "hv09.contoso.com"])
        #expect(hosts[0] == Host(name: "hv01.contoso.com", cluster: "CL44.contoso.com", memoryMB: 262_144, status: .up, healthy: true))
        #expect(hosts[2].status == .up && !hosts[2].healthy)  // NeedsAttention
        #expect(hosts[3].status == .down && hosts[3].cluster == nil)
        let script = try #require(try fake.calls().first?.script)
        #expect(script.contains("[string]$h.OverallState"))
        #expect(!script.contains("MaintenanceHost"))
    }

    @Test func hostsOfOneCluster() async throws {
        let fake = try FakeSSH([.on("Get-SCVMHostCluster -VMMServer $pfVmm -Name 'CL44'", "Get-SCVMHost -VMHostCluster $c", reply: "vmm/hosts.json")])
        #expect(try await backend(fake).listHosts(cluster: "CL44").count == 4)
    }

    @Test func windowsPowerShell51RawOutput() async throws {
        let fake = try FakeSSH([.on("Get-SCVMHost -VMMServer $pfVmm", reply: "vmm/hosts-ps51-raw.json")])
        let hosts = try await backend(fake).listHosts(cluster: nil)
        #expect(hosts.map(\.status) == [.maintenance, .up])  // OverallState 8 and 0
        #expect(hosts.allSatisfy { $0.healthy })
    }

    @Test func vmsMapPowerMemoryAndHA() async throws {
        let fake = try FakeSSH([.on("Get-SCVirtualMachine -VMHost (PF-FindHost 'hv01')", reply: "vmm/vms-mixed.json")])
        let vms = try await backend(fake).listVMs(host: "hv01")
        #expect(vms.map(\.power) == [.running, .running, .stopped, .saved])
        #expect(vms.map(\.highlyAvailable) == [true, false, true, true])
        #expect(vms[2].memoryMB == 8192)  // no assigned memory when off: the configured size
        let fake2 = try FakeSSH([.on("Get-SCVirtualMachine", reply: "vmm/vms-hv01.json")])
        let dynamic = try await backend(fake2).listVMs(host: nil)
        #expect(dynamic[0] == VM(name: "web01", memoryMB: 6144, power: .running, highlyAvailable: true, host: "hv01.contoso.com", tags: ["tier:web"]))
        #expect(try fake2.calls().first?.body.contains("Get-SCVirtualMachine -VMMServer $pfVmm -All") == true)
    }

    /// A cluster observation asks VMM for its hosts' VMs only, filtered on
    /// the server (not every VM it manages), and keeps just those hosts'.
    @Test func theVMsOfAClustersHostsAreFilteredOnTheServer() async throws {
        let fake = try FakeSSH([.on("Get-SCVirtualMachine -VMMServer $pfVmm -All", "Where-Object", reply: "vmm/vms-all-web01-hv01-db01-hv02.json")])
        let vms = try await backend(fake).listVMs(onHosts: ["hv02.contoso.com", "hv03.contoso.com"])
        #expect(vms.map(\.name) == ["db01"], "a reply naming other hosts' VMs is filtered here too")
        let body = try #require(try fake.calls().first?.body)
        #expect(body.contains("$pfOnHosts = @('hv02.contoso.com','hv03.contoso.com')"), "\(body)")
        #expect(body.contains("Where-Object { $pfOnHosts -contains [string]$_.VMHost.Name } | ForEach-Object { PF-VM $_ }"))
        #expect(try await backend(fake).listVMs(onHosts: []).isEmpty)
        #expect(try fake.calls().count == 1, "no hosts, no call")
    }

    /// A cluster observation is one session: the cluster's hosts, and the
    /// VMs on them filtered on the server; filtered here too.
    @Test func aClusterSnapshotIsOneSession() async throws {
        let fake = try FakeSSH([.on("vms = @(if ($pfOnHosts.Count -gt 0) { Get-SCVirtualMachine", reply: "vmm/snapshot-cl44.json")])
        let snapshot = try await backend(fake).clusterSnapshot(cluster: "CL44.contoso.com")
        #expect(snapshot.hosts.map(\.name) == ["hv01.contoso.com", "hv02.contoso.com"])
        #expect(snapshot.vms.map(\.name) == ["web01", "db01"], "a VM on a host outside the cluster is left out")
        let calls = try fake.calls()
        #expect(calls.count == 1)
        let body = try #require(calls.first?.body)
        expectScript(body, contains: [
            "$c = Get-SCVMHostCluster -VMMServer $pfVmm -Name 'CL44.contoso.com'",
            "if (-not $c) { PF-Fail 'notFound'",
            "$pfHosts = @(Get-SCVMHost -VMHostCluster $c)",
            "$pfOnHosts = @($pfHosts | ForEach-Object { [string]$_.Name })",
            "hosts = @($pfHosts | ForEach-Object { PF-Host $_ })",
            "Where-Object { $pfOnHosts -contains [string]$_.VMHost.Name } | ForEach-Object { PF-VM $_ }",
            "vms = @(if ($pfOnHosts.Count -gt 0) { Get-SCVirtualMachine",  // no hosts: no scan of every VM
        ])
        #expect(PowerShellLexer.balanced(body))
    }

    @Test func aClusterSnapshotReadsWindowsPowerShellsWrappedArraysAndRefusesAnythingElse() async throws {
        let wrapped = try FakeSSH([.on("vms = @(if ($pfOnHosts.Count -gt 0) { Get-SCVirtualMachine", reply: "vmm/snapshot-cl44-ps51.json")])
        let snapshot = try await backend(wrapped).clusterSnapshot(cluster: "CL44.contoso.com")
        #expect(snapshot.hosts.count == 2 && snapshot.vms.map(\.name) == ["web01", "db01"])
        let bare = try FakeSSH([.on("vms = @(if ($pfOnHosts.Count -gt 0) { Get-SCVirtualMachine", reply: "vmm/snapshot-no-lists.json")])
        let error = await backendError { _ = try await backend(bare).clusterSnapshot(cluster: "CL44.contoso.com") }
        #expect(error?.code == .internalError && error?.message.contains("has no hosts and VMs lists") == true)
        let missing = try FakeSSH([.on("vms = @(if ($pfOnHosts.Count -gt 0) { Get-SCVirtualMachine", reply: "vmm/error-no-cluster.json")])
        let notFound = await backendError { _ = try await backend(missing).clusterSnapshot(cluster: "CL99") }
        #expect(notFound == BackendError(.notFound, "VMM has no host cluster named 'CL99'"))
    }

    @Test func emptyResults() async throws {
        for reply in ["vmm/vms-empty.json", "vmm/vms-null.json"] {
            let fake = try FakeSSH([.on("Get-SCVirtualMachine", reply: reply)])
            #expect(try await backend(fake).listVMs(host: "hv01").isEmpty)
        }
    }

    @Test func unknownVMStateIsAnErrorNotAGuess() async throws {
        let fake = try FakeSSH([.on("Get-SCVirtualMachine", reply: "vmm/vms-weird-state.json")])
        let error = await backendError { _ = try await backend(fake).listVMs(host: "hv01") }
        #expect(error?.code == .invalidState)
        #expect(error?.message.contains("UnderMigration") == true)
    }

    /// Every VM (the coordinator's inventory): a VM stored in the library is
    /// on no host, and one VM starting somewhere must not stop every job;
    /// the host's own listing and its cluster's observation stay strict.
    @Test func everyVMLeavesOutLibraryVMsAndOnesInPassingStates() async throws {
        let fake = try FakeSSH([.on("Get-SCVirtualMachine", reply: "vmm/vms-all-mixed.json")])
        #expect(try await backend(fake).listVMs(host: nil).map(\.name) == ["web01", "db01"])
        let error = await backendError { _ = try await backend(fake).listVMs(host: "hv02") }
        #expect(error?.code == .invalidState && error?.message.contains("does not handle") == true, "\(String(describing: error))")
        // A cluster observation decodes only its own hosts' VMs.
        #expect(try SnapshotDecoding.vms(try JSONValue.parse(Data(contentsOf: FakeSSH.fixtures.appendingPathComponent("vmm/vms-all-mixed.json")))["result"].elements,
                                         on: ["hv01.contoso.com"], vm: VMMDecoding.vm).map(\.name) == ["web01"])
    }

    /// The worker's look for a VM beyond its cluster is by name and strict:
    /// one being saved elsewhere is an error, not "gone"; one VMM does not
    /// know is nil.
    @Test func aVMLookedUpByNameIsStrict() async throws {
        let saving = try FakeSSH([.on("PF-VM (PF-FindVM 'x1')", reply: "vmm/vm-x1-saving.json")])
        let error = await backendError { _ = try await backend(saving).findVM(named: "x1") }
        #expect(error?.code == .invalidState, "\(String(describing: error))")
        let gone = try FakeSSH([.on("PF-VM (PF-FindVM 'x9')", reply: "vmm/error-not-found.json")])
        #expect(try await backend(gone).findVM(named: "x9") == nil)
    }

    @Test func missingHostIsNotFound() async throws {
        let fake = try FakeSSH([.on("PF-FindHost 'hv77'", reply: "vmm/error-not-found.json")])
        let error = await backendError { _ = try await backend(fake).host(named: "hv77") }
        #expect(error == BackendError(.notFound, "VMM has no host named 'hv77'"))
    }

    @Test func enterMaintenanceObservesFirst() async throws {
        let fake = try FakeSSH([.on("PF-Host (PF-FindHost 'hv01')", reply: "vmm/host-hv01-maintenance-numeric.json")])
        try await backend(fake).enterMaintenance(host: "hv01", migrateRunningVMs: true)
        #expect(try fake.calls().count == 1)  // already in maintenance: nothing done
    }

    @Test func enterMaintenanceWithMoveWithinClusterPollsTheJob() async throws {
        let fake = try FakeSSH([
            .on("PF-Host (PF-FindHost 'hv01')", reply: "vmm/host-hv01-up.json"),
            .on("Disable-SCVMHost", reply: "vmm/job-running.json"),
            .on("Get-SCJob -VMMServer $pfVmm -ID '9c4a2f1e-5b7d-4c3a-8e21-0d6f7a1b2c3d'",
                replies: ["vmm/job-running.json", "vmm/job-running.json", "vmm/job-completed.json"]),
        ])
        try await backend(fake).enterMaintenance(host: "hv01", migrateRunningVMs: true)
        let bodies = try fake.bodies()
        #expect(bodies.count == 5)
        #expect(bodies[1].contains("Disable-SCVMHost -VMHost (PF-FindHost 'hv01') -MoveWithinCluster -RunAsynchronously -JobVariable pfJob"))
    }

    /// Disable-SCVMHost without -MoveWithinCluster would save every running
    /// VM: with VMs still running the host is only taken out of placement.
    @Test func enterMaintenanceNeverSavesRunningVMs() async throws {
        let fake = try FakeSSH([
            .on("PF-Host (PF-FindHost 'hv01')", reply: "vmm/host-hv01-up.json"),
            .on("Get-SCVirtualMachine -VMHost", reply: "vmm/vms-hv01.json"),
            .on("Set-SCVMHost", reply: "vmm/job-completed.json"),
        ])
        try await backend(fake).enterMaintenance(host: "hv01", migrateRunningVMs: false)
        let bodies = try fake.bodies()
        #expect(bodies.count == 3)
        #expect(bodies[2].contains("Set-SCVMHost -VMHost (PF-FindHost 'hv01') -AvailableForPlacement $false"))
        #expect(!bodies.contains { $0.contains("Disable-SCVMHost") })
    }

    @Test func enterMaintenanceOnAnEmptyHostWithoutMove() async throws {
        let fake = try FakeSSH([
            .on("PF-Host (PF-FindHost 'hv01')", reply: "vmm/host-hv01-cordoned.json"),
            .on("Get-SCVirtualMachine -VMHost", reply: "vmm/vms-empty.json"),
            .on("Disable-SCVMHost", reply: "vmm/job-completed.json"),
        ])
        try await backend(fake).enterMaintenance(host: "hv01", migrateRunningVMs: false)
        let last = try #require(try fake.bodies().last)
        #expect(last.contains("Disable-SCVMHost -VMHost (PF-FindHost 'hv01') -RunAsynchronously"))
        #expect(!last.contains("MoveWithinCluster"))
    }

    @Test func failedMaintenanceJobKeepsVMMsText() async throws {
        let fake = try FakeSSH([
            .on("PF-Host (PF-FindHost 'hv01')", reply: "vmm/host-hv01-up.json"),
            .on("Disable-SCVMHost", reply: "vmm/job-failed-maintenance.json"),
        ])
        let error = await backendError { try await backend(fake).enterMaintenance(host: "hv01", migrateRunningVMs: true) }
        #expect(error?.code == .invalidState)
        #expect(error?.backendCode == "12700")
        #expect(error?.message.contains("because of the error: The host is not responding. Ensure the host is reachable.") == true)
    }

    @Test func unreachableHostIsRefused() async throws {
        let fake = try FakeSSH([.on("PF-Host (PF-FindHost 'hv01')", reply: "vmm/host-hv01-notresponding.json")])
        let error = await backendError { try await backend(fake).enterMaintenance(host: "hv01", migrateRunningVMs: true) }
        #expect(error?.code == .unreachable)
        let health = try await backend(fake).hostHealth("hv01")
        #expect(health == HostHealth(responding: false, healthy: false, detail: "OverallState NotResponding"))
    }

    @Test func exitMaintenanceEnablesAndRestoresPlacement() async throws {
        let fake = try FakeSSH([
            .on("PF-Host (PF-FindHost 'hv01')", reply: "vmm/host-hv01-maintenance.json"),
            .on("Enable-SCVMHost", reply: "vmm/job-completed.json"),
            .on("Set-SCVMHost", reply: "vmm/job-succeed-with-info.json"),
        ])
        try await backend(fake).exitMaintenance(host: "hv01")
        let bodies = try fake.bodies()
        #expect(bodies.count == 3)
        #expect(bodies[1].contains("Enable-SCVMHost -VMHost (PF-FindHost 'hv01')"))
        #expect(bodies[2].contains("-AvailableForPlacement $true"))
    }

    @Test func exitMaintenanceOnAnUpHostDoesNothing() async throws {
        let fake = try FakeSSH([.on("PF-Host (PF-FindHost 'hv01')", reply: "vmm/host-hv01-up.json")])
        try await backend(fake).exitMaintenance(host: "hv01")
        #expect(try fake.calls().count == 1)
    }

    @Test func liveMigrationObservesThenMoves() async throws {
        let done = try FakeSSH([.on("PF-FindVM 'web01'", reply: "vmm/vm-web01-hv02.json")])
        try await backend(done).liveMigrate(vm: "web01", to: "HV02")  // already there (short name, other case)
        #expect(try done.calls().count == 1)

        let fake = try FakeSSH([
            .on("PF-VM (PF-FindVM 'web01')", reply: "vmm/vm-web01-hv01.json"),
            .on("Move-SCVirtualMachine", reply: "vmm/job-running.json"),
            .on("Get-SCJob", replies: ["vmm/job-completed.json"]),
        ])
        try await backend(fake).liveMigrate(vm: "web01", to: "hv02.contoso.com")
        let move = try fake.bodies()[1]
        #expect(move.contains("$vm = PF-FindVM 'web01'"))
        #expect(move.contains("Move-SCVirtualMachine -VM $vm -VMHost (PF-FindHost 'hv02.contoso.com') -RunAsynchronously -JobVariable pfJob"))
    }

    @Test func failedMigrationJob() async throws {
        let fake = try FakeSSH([
            .on("PF-VM (PF-FindVM 'web01')", reply: "vmm/vm-web01-hv01.json"),
            .on("Move-SCVirtualMachine", reply: "vmm/job-running.json"),
            .on("Get-SCJob", replies: ["vmm/job-running.json", "vmm/job-failed-10698.json"]),
        ])
        let error = await backendError { try await backend(fake).liveMigrate(vm: "web01", to: "hv02") }
        #expect(error?.code == .migrationFailed)
        #expect(error?.backendCode == "10698")
        #expect(error?.message.hasPrefix("Move-SCVirtualMachine 'web01' to 'hv02': VMM job 9c4a2f1e-5b7d-4c3a-8e21-0d6f7a1b2c3d Failed: Virtual machine web01 could not be live migrated") == true)
    }

    @Test func jobThatNeverEndsTimesOut() async throws {
        let fake = try FakeSSH([
            .on("PF-VM (PF-FindVM 'web01')", reply: "vmm/vm-web01-hv01.json"),
            .on("Move-SCVirtualMachine", reply: "vmm/job-running.json"),
            .on("Get-SCJob", reply: "vmm/job-running.json"),
        ])
        let vmm = VMMBackend(runner: fake.runner(), polling: JobPolling(intervalSeconds: 0.05, timeoutSeconds: 0.3))
        let error = await backendError { try await vmm.liveMigrate(vm: "web01", to: "hv02") }
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("still Running (40 %)") == true)
    }

    @Test func CarmineExceptionFromTheCmdlet() async throws {
        let fake = try FakeSSH([.on("PF-FindVM 'web01'", reply: "vmm/error-carmine-801.json")])
        let error = await backendError { try await backend(fake).start(vm: "web01") }
        #expect(error?.code == .notFound && error?.backendCode == "801")
    }

    @Test func liveMigratingAStoppedVMIsRefused() async throws {
        let fake = try FakeSSH([.on("PF-FindVM 'web01'", reply: "vmm/vm-web01-hv01-off.json")])
        let error = await backendError { try await backend(fake).liveMigrate(vm: "web01", to: "hv02") }
        #expect(error?.code == .invalidState)
    }

    @Test func quickMigrationIsSaveMoveStart() async throws {
        let fake = try FakeSSH([
            .on("PF-VM (PF-FindVM 'web01')", reply: "vmm/vm-web01-hv01.json"),
            .on("Stop-SCVirtualMachine -SaveState", reply: "vmm/job-completed.json"),
            .on("Move-SCVirtualMachine", reply: "vmm/job-completed.json"),
            .on("Start-SCVirtualMachine", reply: "vmm/job-completed.json"),
        ])
        try await backend(fake).quickMigrate(vm: "web01", to: "hv02")
        let cmdlets = try fake.bodies().dropFirst().map { $0.split(separator: " ").dropFirst(3).first.map(String.init) ?? $0 }
        #expect(try fake.bodies().count == 4)
        #expect(try fake.bodies()[1].contains("Stop-SCVirtualMachine -SaveState -VM (PF-FindVM 'web01')"))
        #expect(try fake.bodies()[2].contains("Move-SCVirtualMachine"))
        #expect(try fake.bodies()[3].contains("Start-SCVirtualMachine -VM (PF-FindVM 'web01')"))
        _ = cmdlets
    }

    @Test func quickMigrationResumesAfterAPartialAttempt() async throws {
        // Saved and already moved by an earlier attempt: only the start is left.
        let fake = try FakeSSH([
            .on("PF-VM (PF-FindVM 'web01')", reply: "vmm/vm-web01-hv02-saved.json"),
            .on("Start-SCVirtualMachine", reply: "vmm/job-completed.json"),
        ])
        try await backend(fake).quickMigrate(vm: "web01", to: "hv02")
        #expect(try fake.bodies().count == 2)
    }

    @Test func powerActionsObserveFirst() async throws {
        let saved = try FakeSSH([.on("PF-FindVM 'web01'", reply: "vmm/vm-web01-hv01-saved.json")])
        try await backend(saved).saveState(vm: "web01")
        #expect(try saved.calls().count == 1)
        let shut = await backendError { try await backend(saved).shutDown(vm: "web01") }
        #expect(shut?.code == .invalidState)

        let running = try FakeSSH([
            .on("PF-VM (PF-FindVM 'web01')", reply: "vmm/vm-web01-hv01.json"),
            .on("Stop-SCVirtualMachine -Shutdown", reply: "vmm/job-completed.json"),
        ])
        try await backend(running).start(vm: "web01")  // already running
        try await backend(running).shutDown(vm: "web01")
        #expect(try running.bodies().count == 3)
        #expect(try running.bodies()[2].contains("Stop-SCVirtualMachine -Shutdown -VM (PF-FindVM 'web01') -RunAsynchronously"))
    }

    @Test func movingARunningVMIsRefused() async throws {
        let fake = try FakeSSH([.on("PF-FindVM 'web01'", reply: "vmm/vm-web01-hv01.json")])
        let error = await backendError { try await backend(fake).moveVM(vm: "web01", to: "hv02") }
        #expect(error?.code == .invalidState)
    }
}
