/// Script builders for the VMM backend (VirtualMachineManager module,
/// 2012+ cmdlet names). Every value goes through `PowerShellLiteral`.
enum VMMScripts {
    typealias L = PowerShellLiteral

    /// Module, server connection and the projections shared by all calls.
    /// Projections convert enums with [string] and keep only what PatchFleet
    /// reads, so `-Depth 8` never truncates and replies stay small.
    static func setup(server: String) -> [String] {
        [
            "Import-Module VirtualMachineManager",
            "$pfVmm = Get-SCVMMServer -ComputerName \(L.quote(server))",
            """
            function PF-FindHost([string]$n) { $h = Get-SCVMHost -VMMServer $pfVmm -ComputerName $n; if (-not $h) { PF-Fail 'notFound' ("VMM has no host named '" + $n + "'") $n }; $h }
            function PF-FindVM([string]$n) { $v = @(Get-SCVirtualMachine -VMMServer $pfVmm -Name $n); if ($v.Count -eq 0) { PF-Fail 'notFound' ("VMM has no virtual machine named '" + $n + "'") $n }; if ($v.Count -gt 1) { PF-Fail 'conflict' ("VMM has " + $v.Count + " virtual machines named '" + $n + "'") $n }; $v[0] }
            function PF-Host($h) { [ordered]@{ name = [string]$h.Name; computerName = [string]$h.ComputerName; cluster = [string]$h.HostCluster.Name; totalMemory = $h.TotalMemory; overallState = [string]$h.OverallState; communicationState = [string]$h.CommunicationState; availableForPlacement = $h.AvailableForPlacement } }
            function PF-VM($v) { [ordered]@{ name = [string]$v.Name; host = [string]$v.VMHost.Name; memoryMB = $v.Memory; memoryAssignedMB = $v.MemoryAssignedMB; highlyAvailable = $v.IsHighlyAvailable; state = [string]$v.VirtualMachineState; status = [string]$v.Status; tags = @($v.Tag | Where-Object { $_ }) } }
            function PF-Job($j) { if (-not $j) { PF-Fail 'internalError' 'VMM returned no job' '' }; [ordered]@{ id = [string]$j.ID; name = [string]$j.Name; status = [string]$j.Status; progress = [string]$j.Progress; errorCode = [string]$j.ErrorInfo.DisplayableErrorCode; problem = [string]$j.ErrorInfo.Problem; recommendedAction = [string]$j.ErrorInfo.RecommendedAction } }
            """,
        ]
    }

    static func script(_ server: String, _ body: String, _ shape: PowerShellScript.ResultShape = .single) -> PowerShellScript {
        PowerShellScript(body: body, shape: shape, setup: setup(server: server))
    }

    static func listClusters(server: String) -> PowerShellScript {
        script(server, "Get-SCVMHostCluster -VMMServer $pfVmm | ForEach-Object { [ordered]@{ name = [string]$_.Name } }", .list)
    }

    static func listHosts(server: String, cluster: String?) -> PowerShellScript {
        guard let cluster else {
            return script(server, "Get-SCVMHost -VMMServer $pfVmm | ForEach-Object { PF-Host $_ }", .list)
        }
        let name = L.quote(cluster)
        return script(server, """
        $c = Get-SCVMHostCluster -VMMServer $pfVmm -Name \(name)
        if (-not $c) { PF-Fail 'notFound' ("VMM has no host cluster named '" + \(name) + "'") \(name) }
        Get-SCVMHost -VMHostCluster $c | ForEach-Object { PF-Host $_ }
        """, .list)
    }

    static func host(server: String, name: String) -> PowerShellScript {
        script(server, "PF-Host (PF-FindHost \(L.quote(name)))")
    }

    static func listVMs(server: String, host: String?) -> PowerShellScript {
        guard let host else {
            return script(server, "Get-SCVirtualMachine -VMMServer $pfVmm -All | ForEach-Object { PF-VM $_ }", .list)
        }
        return script(server, "Get-SCVirtualMachine -VMHost (PF-FindHost \(L.quote(host))) | ForEach-Object { PF-VM $_ }", .list)
    }

    /// The VMs on these hosts (a cluster's nodes), filtered on the server:
    /// only they are projected, converted to JSON and sent back, not every
    /// VM VMM manages (what the protocol's default, `listVMs(host: nil)`,
    /// would fetch for every cluster observation).
    static func listVMs(server: String, onHosts hosts: [String]) -> PowerShellScript {
        script(server, """
        $pfOnHosts = \(L.array(hosts))
        Get-SCVirtualMachine -VMMServer $pfVmm -All | Where-Object { $pfOnHosts -contains [string]$_.VMHost.Name } | ForEach-Object { PF-VM $_ }
        """, .list)
    }

    /// A cluster's hosts and the VMs on them in one session: a worker
    /// observes the cluster before every VM it moves, and two sessions (one
    /// for the hosts, one for their VMs) cost a second PowerShell start and
    /// VMM connection each time. Filtered on the server as `listVMs(onHosts:)` is.
    static func clusterSnapshot(server: String, cluster: String) -> PowerShellScript {
        let name = L.quote(cluster)
        return script(server, """
        $c = Get-SCVMHostCluster -VMMServer $pfVmm -Name \(name)
        if (-not $c) { PF-Fail 'notFound' ("VMM has no host cluster named '" + \(name) + "'") \(name) }
        $pfHosts = @(Get-SCVMHost -VMHostCluster $c)
        $pfOnHosts = @($pfHosts | ForEach-Object { [string]$_.Name })
        [ordered]@{ hosts = @($pfHosts | ForEach-Object { PF-Host $_ }); vms = @(if ($pfOnHosts.Count -gt 0) { Get-SCVirtualMachine -VMMServer $pfVmm -All | Where-Object { $pfOnHosts -contains [string]$_.VMHost.Name } | ForEach-Object { PF-VM $_ } }) }
        """)
    }

    static func vm(server: String, name: String) -> PowerShellScript {
        script(server, "PF-VM (PF-FindVM \(L.quote(name)))")
    }

    // MARK: Asynchronous actions: each starts a VMM job and returns it.

    static func disableHost(server: String, host: String, moveWithinCluster: Bool) -> PowerShellScript {
        let move = moveWithinCluster ? " -MoveWithinCluster" : ""
        return script(server, """
        Disable-SCVMHost -VMHost (PF-FindHost \(L.quote(host)))\(move) -RunAsynchronously -JobVariable pfJob | Out-Null
        PF-Job $pfJob
        """)
    }

    static func enableHost(server: String, host: String) -> PowerShellScript {
        script(server, """
        Enable-SCVMHost -VMHost (PF-FindHost \(L.quote(host))) -RunAsynchronously -JobVariable pfJob | Out-Null
        PF-Job $pfJob
        """)
    }

    /// Keeps VMM from placing VMs on the host while its VMs keep running
    /// (the VMM equivalent of pausing a cluster node).
    static func setAvailableForPlacement(server: String, host: String, _ available: Bool) -> PowerShellScript {
        script(server, """
        Set-SCVMHost -VMHost (PF-FindHost \(L.quote(host))) -AvailableForPlacement \(L.bool(available)) -RunAsynchronously -JobVariable pfJob | Out-Null
        PF-Job $pfJob
        """)
    }

    static func moveVM(server: String, vm: String, to host: String) -> PowerShellScript {
        script(server, """
        $vm = PF-FindVM \(L.quote(vm))
        Move-SCVirtualMachine -VM $vm -VMHost (PF-FindHost \(L.quote(host))) -RunAsynchronously -JobVariable pfJob | Out-Null
        PF-Job $pfJob
        """)
    }

    enum PowerAction: String { case shutdown = "Stop-SCVirtualMachine -Shutdown", saveState = "Stop-SCVirtualMachine -SaveState", start = "Start-SCVirtualMachine" }

    static func power(server: String, vm: String, _ action: PowerAction) -> PowerShellScript {
        script(server, """
        \(action.rawValue) -VM (PF-FindVM \(L.quote(vm))) -RunAsynchronously -JobVariable pfJob | Out-Null
        PF-Job $pfJob
        """)
    }

    static func job(server: String, id: String) -> PowerShellScript {
        let quoted = L.quote(id)
        return script(server, """
        $j = Get-SCJob -VMMServer $pfVmm -ID \(quoted)
        if (-not $j) { PF-Fail 'notFound' ("VMM has no job " + \(quoted)) \(quoted) }
        PF-Job $j
        """)
    }
}
