/// Script builders for the Failover Clustering backend (FailoverClusters
/// and Hyper-V modules on a cluster node or a host with RSAT).
enum ClusterScripts {
    typealias L = PowerShellLiteral

    /// An unreachable cluster is an error, never "node not found". The
    /// memory probe may fail quietly only for a node that is not Up (a
    /// restarting node, or a paused one just back whose WinRM, a delayed
    /// start, is not up yet: 0 MB, and the planner sends it no VMs); on a
    /// node in service it is an error naming the node, since 0 MB there
    /// would read as a cluster out of capacity when it is a permission (a
    /// key-based SSH logon has no credentials for the second hop).
    static func setup(clusters: [String]) -> [String] {
        [
            "Import-Module FailoverClusters",
            "$pfClusters = \(L.array(clusters))",
            """
            function PF-Node($n, $c) { $pfProbe = $null; $m = (Get-CimInstance -ClassName Win32_ComputerSystem -ComputerName $n.Name -ErrorAction SilentlyContinue -ErrorVariable pfProbe).TotalPhysicalMemory; if (-not $m -and [string]$n.State -eq 'Up') { PF-Fail 'unreachable' ("cannot read the memory of cluster node '" + $n.Name + "' (" + [string]$n.State + "): " + [string]($pfProbe | Select-Object -First 1)) $n.Name }; [ordered]@{ name = [string]$n.Name; cluster = [string]$c; state = [string]$n.State; drainStatus = [string]$n.DrainStatus; totalMemory = $m } }
            function PF-FindNode([string]$h) { foreach ($c in $pfClusters) { $n = Get-ClusterNode -Cluster $c | Where-Object { $_.Name -eq $h }; if ($n) { return @{ node = $n; cluster = $c } } }; PF-Fail 'notFound' ("no configured cluster has a node named '" + $h + "'") $h }
            function PF-VMs([string[]]$onHosts, [string]$named) {
            foreach ($c in $pfClusters) {
            Get-ClusterGroup -Cluster $c | Where-Object { [string]$_.GroupType -eq 'VirtualMachine' -and (-not $onHosts -or $onHosts -contains $_.OwnerNode.Name) -and (-not $named -or $_.Name -eq $named) } | ForEach-Object {
            $v = Get-VM -ClusterObject $_ -ErrorAction SilentlyContinue
            [ordered]@{ name = [string]$_.Name; cluster = $c; host = [string]$_.OwnerNode.Name; groupState = [string]$_.State; state = [string]$v.State; memoryAssigned = $v.MemoryAssigned; memoryStartup = $v.MemoryStartup; clustered = $true } }
            foreach ($n in (Get-ClusterNode -Cluster $c | Where-Object { -not $onHosts -or $onHosts -contains $_.Name })) {
            Get-VM -ComputerName $n.Name | Where-Object { -not $_.IsClustered -and (-not $named -or $_.Name -eq $named) } | ForEach-Object {
            [ordered]@{ name = [string]$_.Name; cluster = $c; host = [string]$n.Name; groupState = ''; state = [string]$_.State; memoryAssigned = $_.MemoryAssigned; memoryStartup = $_.MemoryStartup; clustered = $false } } } } }
            """,
        ]
    }

    static func script(_ clusters: [String], _ body: String, _ shape: PowerShellScript.ResultShape = .single) -> PowerShellScript {
        PowerShellScript(body: body, shape: shape, setup: setup(clusters: clusters))
    }

    static func listClusters(_ clusters: [String]) -> PowerShellScript {
        // The configured spelling, as every node and VM carries it (Get-Cluster
        // would answer its own short name, and names are compared exactly).
        script(clusters, "foreach ($c in $pfClusters) { Get-Cluster -Name $c -ErrorAction Stop | Out-Null; [ordered]@{ name = [string]$c } }", .list)
    }

    static func listNodes(_ clusters: [String], cluster: String?) -> PowerShellScript {
        let filter = cluster.map { "$pfClusters = @($pfClusters | Where-Object { $_ -eq \(L.quote($0)) })\n" } ?? ""
        return script(clusters, filter + "foreach ($c in $pfClusters) { Get-ClusterNode -Cluster $c | ForEach-Object { PF-Node $_ $c } }", .list)
    }

    static func node(_ clusters: [String], name: String) -> PowerShellScript {
        script(clusters, "$f = PF-FindNode \(L.quote(name))\nPF-Node $f.node $f.cluster")
    }

    /// One host's VMs (`''`: every node's), or the VM of that name. `''`
    /// binds as `@('')`, which PowerShell reads as false: no filter.
    static func listVMs(_ clusters: [String], host: String?, named: String? = nil) -> PowerShellScript {
        script(clusters, "PF-VMs \(L.quote(host ?? "")) \(L.quote(named ?? ""))", .list)
    }

    /// The VMs on these nodes (a cluster observation): only their groups are
    /// read, and only they are asked for their local VMs (`Get-VM
    /// -ComputerName` per node, the expensive part), not every node of every
    /// configured cluster.
    static func listVMs(_ clusters: [String], onHosts hosts: [String]) -> PowerShellScript {
        script(clusters, "PF-VMs \(L.array(hosts)) ''", .list)
    }

    /// A cluster observation in one session: the cluster's nodes, and the
    /// VMs on exactly those nodes (`PF-VMs` reads every node when given
    /// none, so a cluster without nodes answers no VMs instead).
    static func clusterSnapshot(_ clusters: [String], cluster: String) -> PowerShellScript {
        script(clusters, """
        $pfClusters = @($pfClusters | Where-Object { $_ -eq \(L.quote(cluster)) })
        $pfNodes = @(foreach ($c in $pfClusters) { Get-ClusterNode -Cluster $c | ForEach-Object { PF-Node $_ $c } })
        $pfOnHosts = [string[]]@($pfNodes | ForEach-Object { $_.name })
        [ordered]@{ hosts = $pfNodes; vms = @(if ($pfOnHosts.Count -gt 0) { PF-VMs $pfOnHosts '' }) }
        """)
    }

    /// Pause (no drain: VMs keep running) or pause and drain.
    static func suspend(_ clusters: [String], node: String, drain: Bool) -> PowerShellScript {
        script(clusters, """
        $f = PF-FindNode \(L.quote(node))
        Suspend-ClusterNode -Cluster $f.cluster -Name $f.node.Name\(drain ? " -Drain" : "") | Out-Null
        PF-Node (Get-ClusterNode -Cluster $f.cluster -Name $f.node.Name) $f.cluster
        """)
    }

    static func resume(_ clusters: [String], node: String, failback: ClusterFailback) -> PowerShellScript {
        script(clusters, """
        $f = PF-FindNode \(L.quote(node))
        Resume-ClusterNode -Cluster $f.cluster -Name $f.node.Name -Failback \(failback.rawValue) | Out-Null
        PF-Node (Get-ClusterNode -Cluster $f.cluster -Name $f.node.Name) $f.cluster
        """)
    }

    enum Migration: String { case live = "Live", quick = "Quick" }

    static func migrate(_ clusters: [String], vm: String, cluster: String, to node: String, _ type: Migration) -> PowerShellScript {
        script(clusters, """
        Move-ClusterVirtualMachineRole -Cluster \(L.quote(cluster)) -Name \(L.quote(vm)) -Node \(L.quote(node)) -MigrationType \(type.rawValue) | Out-Null
        """)
    }

    /// An offline VM role changes owner without any memory transfer.
    static func moveGroup(_ clusters: [String], vm: String, cluster: String, to node: String) -> PowerShellScript {
        script(clusters, "Move-ClusterGroup -Cluster \(L.quote(cluster)) -Name \(L.quote(vm)) -Node \(L.quote(node)) | Out-Null")
    }

    enum Power { case save, shutdown, start }

    /// Hyper-V cmdlets on the owner node; a clustered VM is started through
    /// its cluster group so the cluster keeps owning it.
    static func power(_ clusters: [String], vm: String, host: String, cluster: String, clustered: Bool, _ action: Power) -> PowerShellScript {
        let name = L.quote(vm), owner = L.quote(host)
        let body: String = switch action {
        case .save: "Save-VM -ComputerName \(owner) -Name \(name)"
        case .shutdown: "Stop-VM -ComputerName \(owner) -Name \(name) -Force"
        case .start: clustered
            ? "Start-ClusterGroup -Cluster \(L.quote(cluster)) -Name \(name) | Out-Null"
            : "Start-VM -ComputerName \(owner) -Name \(name)"
        }
        return script(clusters, body)
    }
}

/// Resume-ClusterNode -Failback: PatchFleet moves VMs home itself (Rule 3),
/// so NoFailback is the default; Immediate lets the cluster do it.
public enum ClusterFailback: String, Codable, Sendable, CaseIterable {
    case immediate = "Immediate"
    case noFailback = "NoFailback"
}
