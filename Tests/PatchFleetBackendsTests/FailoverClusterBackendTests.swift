import Foundation
import PatchFleetCore
import Testing
@testable import PatchFleetBackends

@Suite("Failover Clustering backend")
struct FailoverClusterBackendTests {
    func backend(_ fake: FakeSSH, failback: ClusterFailback = .noFailback) -> FailoverClusterBackend {
        FailoverClusterBackend(runner: fake.runner(), clusters: ["CL44"], failback: failback, polling: .fast)
    }

    @Test func nodesMapStateAndDrainStatus() async throws {
        let fake = try FakeSSH([.on("Get-ClusterNode -Cluster $c | ForEach-Object { PF-Node $_ $c }", reply: "cluster/nodes.json")])
        let hosts = try await backend(fake).listHosts(cluster: nil)
        #expect(hosts.map(\.status) == [.up, .maintenance, .down])
        #expect(hosts[0].memoryMB == 262_144 && hosts[0].cluster == "CL44")
        #expect(try fake.calls().first?.script.contains("$pfClusters = @('CL44')") == true)
    }

    /// A node in service whose memory cannot be read is an error naming it
    /// (a key logon's missing second hop would otherwise read as a cluster
    /// out of capacity); a restarting node reads 0 MB and takes no VMs.
    /// Clusters are named as configured, the spelling nodes and VMs carry.
    @Test func theMemoryProbeFailsLoudlyOnlyForNodesInService() async throws {
        let fake = try FakeSSH([.on("Get-ClusterNode -Cluster $c | ForEach-Object { PF-Node $_ $c }", reply: "cluster/nodes.json"),
                                .on("Get-Cluster -Name $c", reply: "cluster/clusters.json")])
        _ = try await backend(fake).listHosts(cluster: nil)
        let node = try #require(try fake.calls().first?.script.split(separator: "\n").first { $0.hasPrefix("function PF-Node") }.map(String.init))
        expectScript(node, contains: [
            "-ErrorAction SilentlyContinue -ErrorVariable pfProbe).TotalPhysicalMemory",
            "if (-not $m -and [string]$n.State -eq 'Up') { PF-Fail 'unreachable' (\"cannot read the memory of cluster node '\" + $n.Name",
        ])
        #expect(PowerShellLexer.balanced(node))
        #expect(try await backend(fake).listClusters() == [Cluster(name: "CL44")])
        let clusters = try #require(try fake.bodies().last)
        #expect(clusters.contains("Get-Cluster -Name $c -ErrorAction Stop | Out-Null; [ordered]@{ name = [string]$c }"), "\(clusters)")
    }

    @Test func numericClusterEnums() async throws {
        let fake = try FakeSSH([.on("Get-ClusterNode", reply: "cluster/nodes-numeric.json")])
        let hosts = try await backend(fake).listHosts(cluster: "CL44")
        #expect(hosts.map(\.status) == [.draining, .up, .rebooting])  // Paused+InProgress, Up, Joining
    }

    @Test func unknownClusterIsNotFound() async throws {
        let fake = try FakeSSH([])
        let error = await backendError { _ = try await backend(fake).listHosts(cluster: "CL99") }
        #expect(error?.code == .notFound)
    }

    @Test func vmsFromClusterGroupsAndLocalVMs() async throws {
        let fake = try FakeSSH([.on("PF-VMs 'hv01' ''", reply: "cluster/vms-hv01.json")])
        let vms = try await backend(fake).listVMs(host: "hv01")
        #expect(vms.map(\.power) == [.running, .running, .stopped, .saved])  // VMState 6 = Saved
        #expect(vms.map(\.highlyAvailable) == [true, false, true, true])
        #expect(vms[0].memoryMB == 8192 && vms[2].memoryMB == 4096)
        let script = try #require(try fake.calls().first?.script)
        #expect(script.contains("[string]$_.GroupType -eq 'VirtualMachine'"))
        #expect(script.contains("Get-VM -ComputerName $n.Name | Where-Object { -not $_.IsClustered"))
    }

    /// A cluster observation reads only its nodes' groups and local VMs,
    /// and keeps just those nodes' VMs whatever the reply holds.
    @Test func theVMsOfSomeNodesOnly() async throws {
        let fake = try FakeSSH([.on("PF-VMs @('hv01','hv09') ''", reply: "cluster/vms-hv01.json"),
                                .on("PF-VMs @('hv09') ''", reply: "cluster/vms-hv01.json")])
        let vms = try await backend(fake).listVMs(onHosts: ["hv01", "hv09"])
        #expect(vms.count == 4 && vms.allSatisfy { $0.host == "hv01" })
        #expect(try await backend(fake).listVMs(onHosts: ["hv09"]).isEmpty, "a reply naming other nodes' VMs is filtered here too")
        let script = try #require(try fake.calls().first?.script)
        #expect(script.contains("function PF-VMs([string[]]$onHosts, [string]$named)"))
        #expect(script.contains("(-not $onHosts -or $onHosts -contains $_.OwnerNode.Name)"))
        #expect(script.contains("Get-ClusterNode -Cluster $c | Where-Object { -not $onHosts -or $onHosts -contains $_.Name }"))
        #expect(try await backend(fake).listVMs(onHosts: []).isEmpty)
        #expect(try fake.calls().count == 2, "no nodes, no call")
    }

    /// A cluster observation is one session: the cluster's nodes, and the
    /// VMs on exactly those nodes; a VM of another node is filtered here too.
    @Test func aClusterSnapshotIsOneSession() async throws {
        let fake = try FakeSSH([.on("$pfNodes = @(foreach ($c in $pfClusters)", reply: "cluster/snapshot-cl44.json")])
        let snapshot = try await backend(fake).clusterSnapshot(cluster: "cl44")
        #expect(snapshot.hosts.map(\.name) == ["hv01", "hv02", "hv03"])
        #expect(snapshot.vms.count == 4 && snapshot.vms.allSatisfy { $0.host == "hv01" }, "elsewhere01 (on hv09) is left out")
        let calls = try fake.calls()
        #expect(calls.count == 1)
        let body = try #require(calls.first?.body)
        expectScript(body, contains: [
            "$pfClusters = @($pfClusters | Where-Object { $_ -eq 'CL44' })",  // the configured spelling
            "Get-ClusterNode -Cluster $c | ForEach-Object { PF-Node $_ $c }",
            "$pfOnHosts = [string[]]@($pfNodes | ForEach-Object { $_.name })",
            "vms = @(if ($pfOnHosts.Count -gt 0) { PF-VMs $pfOnHosts '' })",  // no nodes: no VMs, never every node's
        ])
        #expect(PowerShellLexer.balanced(body))

        let wrapped = try FakeSSH([.on("$pfNodes = @(foreach ($c in $pfClusters)", reply: "cluster/snapshot-cl44-ps51.json")])
        #expect(try await backend(wrapped).clusterSnapshot(cluster: "CL44").vms.count == 4)
        let unconfigured = await backendError { _ = try await backend(fake).clusterSnapshot(cluster: "CL99") }
        #expect(unconfigured == BackendError(.notFound, "cluster 'CL99' is not configured for this backend"))
        #expect(try fake.calls().count == 1, "an unconfigured cluster is not asked for")
    }

    @Test func drainWaitsForDrainStatus() async throws {
        let fake = try FakeSSH([
            .on("$f = PF-FindNode 'hv01'\nPF-Node", replies: ["cluster/node-hv01-up.json", "cluster/node-hv01-draining.json", "cluster/node-hv01-drained.json"]),
            .on("Suspend-ClusterNode", reply: "cluster/node-hv01-draining.json"),
        ])
        try await backend(fake).enterMaintenance(host: "hv01", migrateRunningVMs: true)
        let bodies = try fake.bodies()
        #expect(bodies[1].contains("Suspend-ClusterNode -Cluster $f.cluster -Name $f.node.Name -Drain"))
        #expect(bodies.count == 4)
    }

    @Test func failedDrain() async throws {
        let fake = try FakeSSH([
            .on("$f = PF-FindNode 'hv01'\nPF-Node", replies: ["cluster/node-hv01-up.json", "cluster/node-hv01-drain-failed.json"]),
            .on("Suspend-ClusterNode", reply: "cluster/node-hv01-draining.json"),
        ])
        let error = await backendError { try await backend(fake).enterMaintenance(host: "hv01", migrateRunningVMs: true) }
        #expect(error?.code == .migrationFailed)
        #expect(error?.message.contains("DrainStatus Failed") == true)
    }

    @Test func pauseOnlyWhileVMsRun() async throws {
        let fake = try FakeSSH([
            .on("$f = PF-FindNode 'hv01'\nPF-Node", reply: "cluster/node-hv01-up.json"),
            .on("PF-VMs 'hv01'", reply: "cluster/vms-hv01.json"),
            .on("Suspend-ClusterNode", reply: "cluster/node-hv01-paused.json"),
        ])
        try await backend(fake).enterMaintenance(host: "hv01", migrateRunningVMs: false)
        let suspend = try #require(try fake.bodies().last)
        #expect(suspend.contains("Suspend-ClusterNode -Cluster $f.cluster -Name $f.node.Name | Out-Null"))
    }

    @Test func alreadyDrainedDoesNothing() async throws {
        let fake = try FakeSSH([.on("PF-FindNode 'hv01'", reply: "cluster/node-hv01-drained.json")])
        try await backend(fake).enterMaintenance(host: "hv01", migrateRunningVMs: true)
        #expect(try fake.calls().count == 1)
    }

    @Test func resumeWithChosenFailback() async throws {
        let fake = try FakeSSH([
            .on("$f = PF-FindNode 'hv01'\nPF-Node", reply: "cluster/node-hv01-drained.json"),
            .on("Resume-ClusterNode", reply: "cluster/node-hv01-up.json"),
        ])
        try await backend(fake, failback: .immediate).exitMaintenance(host: "hv01")
        #expect(try fake.bodies().last?.contains("Resume-ClusterNode -Cluster $f.cluster -Name $f.node.Name -Failback Immediate") == true)
    }

    @Test func liveAndQuickMigration() async throws {
        let fake = try FakeSSH([
            .on("PF-VMs '' 'web01'", reply: "cluster/vm-web01-hv01.json"),
            .on("Move-ClusterVirtualMachineRole", stdout: #"{"ok":true,"result":null}"#),
        ])
        try await backend(fake).liveMigrate(vm: "web01", to: "hv02")
        try await backend(fake).quickMigrate(vm: "web01", to: "hv02")
        let bodies = try fake.bodies()
        #expect(bodies[1].contains("Move-ClusterVirtualMachineRole -Cluster 'CL44' -Name 'web01' -Node 'hv02' -MigrationType Live"))
        #expect(bodies[3].contains("-MigrationType Quick"))
    }

    @Test func migrationErrorKeepsTheClusterMessage() async throws {
        let fake = try FakeSSH([
            .on("PF-VMs '' 'web01'", reply: "cluster/vm-web01-hv01.json"),
            .on("Move-ClusterVirtualMachineRole", reply: "cluster/error-migration.json"),
        ])
        let error = await backendError { try await backend(fake).liveMigrate(vm: "web01", to: "hv02") }
        #expect(error?.code == .migrationFailed)
        #expect(error?.message.contains("Live migration of 'Virtual Machine web01' failed.") == true)
    }

    @Test func nonClusteredVMCannotMigrate() async throws {
        let fake = try FakeSSH([.on("PF-VMs '' 'lab01'", reply: "cluster/vm-lab01-hv01.json")])
        let error = await backendError { try await backend(fake).liveMigrate(vm: "lab01", to: "hv02") }
        #expect(error?.code == .invalidState)
    }

    @Test func stoppedVMMovesItsGroup() async throws {
        let fake = try FakeSSH([
            .on("PF-VMs '' 'old01'", reply: "cluster/vm-old01-hv01.json"),
            .on("Move-ClusterGroup", stdout: #"{"ok":true,"result":null}"#),
        ])
        try await backend(fake).moveVM(vm: "old01", to: "hv02")
        #expect(try fake.bodies().last?.contains("Move-ClusterGroup -Cluster 'CL44' -Name 'old01' -Node 'hv02'") == true)
    }

    @Test func powerThroughHyperVAndTheCluster() async throws {
        let fake = try FakeSSH([
            .on("PF-VMs '' 'old01'", reply: "cluster/vm-old01-hv01.json"),
            .on("Start-ClusterGroup", stdout: #"{"ok":true,"result":null}"#),
        ])
        try await backend(fake).start(vm: "old01")
        try await backend(fake).shutDown(vm: "old01")  // already off
        try await backend(fake).saveState(vm: "old01")  // nothing in memory
        let bodies = try fake.bodies()
        #expect(bodies.count == 4)
        #expect(bodies[1].contains("Start-ClusterGroup -Cluster 'CL44' -Name 'old01'"))
    }
}

extension FakeSSH.Rule {
    static func on(_ match: String..., stdout: String) -> Self { Self(match: match, stdout: stdout) }
}
