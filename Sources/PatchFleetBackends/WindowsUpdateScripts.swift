/// Scripts for a Hyper-V host that patches itself from Windows Update or
/// WSUS (the Windows Update Agent's COM API), run on the host over its own
/// SSH. The agent refuses to download or install from a network logon (an
/// SSH session), so the install runs as a scheduled task under SYSTEM and
/// leaves its progress in a file; searching (compliance) works from the
/// session. Every script is checked on its text and on replayed replies
/// only: PowerShell does not run here (docs/backends.md).
enum WindowsUpdateScripts {
    typealias L = PowerShellLiteral

    /// Where the agent looks for updates (`IUpdateSearcher.ServerSelection`).
    enum ServerSelection: Int, Sendable, Hashable {
        /// What the host's policy says: its WSUS server if one is set.
        case `default` = 0
        /// The WSUS server the host's policy names.
        case managedServer = 1
        /// Microsoft's Windows Update service.
        case windowsUpdate = 2
    }

    static let taskName = "PatchFleet Windows Update"

    static func setup() -> [String] {
        [
            "$pfDir = Join-Path $env:ProgramData 'PatchFleet'",
            // Three sources, as the servicing stack spreads it: the agent's
            // own flag, Component Based Servicing, and Windows Update's key.
            #"function PF-RebootPending { $si = [bool](New-Object -ComObject Microsoft.Update.SystemInfo).RebootRequired; $cbs = Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'; $wu = Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'; ($si -or $cbs -or $wu) }"#,
            // A job names updates by KB number (without "KB") or update GUID.
            #"function PF-Match($u, $ids) { ((@($u.KBArticleIDs) | Where-Object { $ids -contains ([string]$_) }).Count -gt 0) -or ($ids -contains ([string]$u.Identity.UpdateID).ToLower()) }"#,
            #"function PF-Update($u) { [ordered]@{ updateId = ([string]$u.Identity.UpdateID).ToLower(); kb = [string](@($u.KBArticleIDs) -join ','); title = [string]$u.Title } }"#,
        ]
    }

    static func script(_ body: String, _ shape: PowerShellScript.ResultShape = .single) -> PowerShellScript {
        PowerShellScript(body: body, shape: shape, setup: setup())
    }

    /// What the SYSTEM task runs: search, download, install the matching
    /// updates, writing its progress and each update's result to
    /// install-status.json (with the ids it ran for, so a later job never
    /// reads an earlier job's outcome as its own). The status is written to
    /// a temporary file and moved into place, so a poll never reads half of
    /// it. The ids come from install-ids.json: the double parentheses make
    /// Windows PowerShell 5.1 enumerate the array ConvertFrom-Json passes
    /// down whole (one element, the whole array, otherwise).
    static func installer(_ selection: ServerSelection) -> String {
        """
        $ErrorActionPreference = 'Stop'
        $dir = Join-Path $env:ProgramData 'PatchFleet'
        $statusPath = Join-Path $dir 'install-status.json'
        $ids = @((Get-Content -Raw (Join-Path $dir 'install-ids.json') | ConvertFrom-Json))
        function Write-Status($state, $detail, $results) { $tmp = $statusPath + '.tmp'; [ordered]@{ state = $state; detail = $detail; ids = $ids; at = (Get-Date).ToUniversalTime().ToString('o'); results = @($results) } | ConvertTo-Json -Depth 4 -Compress | Set-Content -Path $tmp -Encoding UTF8; Move-Item -Path $tmp -Destination $statusPath -Force }
        try {
        Write-Status 'searching' '' @()
        $session = New-Object -ComObject Microsoft.Update.Session
        $session.ClientApplicationID = 'PatchFleet'
        $searcher = $session.CreateUpdateSearcher()
        $searcher.ServerSelection = \(selection.rawValue)
        $found = $searcher.Search("IsInstalled=0 and IsHidden=0 and Type='Software'").Updates
        $todo = New-Object -ComObject Microsoft.Update.UpdateColl
        foreach ($u in $found) { if (((@($u.KBArticleIDs) | Where-Object { $ids -contains ([string]$_) }).Count -gt 0) -or ($ids -contains ([string]$u.Identity.UpdateID).ToLower())) { if (-not $u.EulaAccepted) { $u.AcceptEula() }; [void]$todo.Add($u) } }
        if ($todo.Count -eq 0) { Write-Status 'done' 'nothing to install' @(); return }
        Write-Status 'downloading' ([string]$todo.Count + ' update(s)') @()
        $downloader = $session.CreateUpdateDownloader()
        $downloader.Updates = $todo
        [void]$downloader.Download()
        Write-Status 'installing' ([string]$todo.Count + ' update(s)') @()
        $installer = $session.CreateUpdateInstaller()
        $installer.Updates = $todo
        $result = $installer.Install()
        $results = for ($i = 0; $i -lt $todo.Count; $i++) { $r = $result.GetUpdateResult($i); [ordered]@{ updateId = ([string]$todo.Item($i).Identity.UpdateID).ToLower(); kb = [string](@($todo.Item($i).KBArticleIDs) -join ','); title = [string]$todo.Item($i).Title; resultCode = [int]$r.ResultCode; hresult = [int]$r.HResult } }
        Write-Status 'done' ('ResultCode ' + [int]$result.ResultCode + ', reboot required ' + [bool]$result.RebootRequired) $results
        } catch { Write-Status 'failed' ($_.Exception.Message + ' (0x' + ('{0:X8}' -f $_.Exception.HResult) + ')') @() }
        """
    }

    /// Observe, then act: a task still running for these ids is left to
    /// finish (a redelivered install asks nothing twice); one running for
    /// other ids (a job given up on) is a conflict the saga retries.
    /// Otherwise the directory is locked down to SYSTEM and Administrators
    /// (by SID: any user may create folders in ProgramData, and a folder
    /// someone else made first would let them rewrite the ids or the
    /// status), the ids and a queued status are written, and the SYSTEM task
    /// is (re)registered with the installer inline (`-EncodedCommand`: no
    /// script file to swap, and no execution policy applies) and started.
    static func install(normalizedIds: [String], selection: ServerSelection) -> PowerShellScript {
        let task = L.quote(taskName)
        let encoded = PowerShellScript.encode(installer(selection))
        return script("""
        $ids = \(L.array(normalizedIds))
        $task = Get-ScheduledTask -TaskName \(task) -ErrorAction SilentlyContinue
        $statusPath = Join-Path $pfDir 'install-status.json'
        if ($task -and [string]$task.State -eq 'Running') {
        $running = @(); try { $running = @((Get-Content -Raw $statusPath | ConvertFrom-Json).ids) } catch { }
        if ((@($ids | Where-Object { $running -notcontains $_ }).Count -gt 0) -or (@($running | Where-Object { $ids -notcontains $_ }).Count -gt 0)) { PF-Fail 'conflict' ('an install task for other updates is running (' + ($running -join ', ') + ')') '' }
        [ordered]@{ started = $false; reason = 'an install task for these updates is already running' } } else {
        New-Item -ItemType Directory -Force -Path $pfDir | Out-Null
        & icacls.exe $pfDir /setowner '*S-1-5-32-544' /T /C /Q | Out-Null
        & icacls.exe $pfDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' /T /C /Q | Out-Null
        if ($LASTEXITCODE -ne 0) { PF-Fail 'internalError' ('icacls could not lock down ' + $pfDir + ' (exit ' + $LASTEXITCODE + ')') $pfDir }
        Set-Content -Path (Join-Path $pfDir 'install-ids.json') -Value (ConvertTo-Json -InputObject $ids -Compress) -Encoding UTF8
        Set-Content -Path $statusPath -Value (ConvertTo-Json -InputObject ([ordered]@{ state = 'queued'; detail = ''; ids = $ids; results = @() }) -Compress) -Encoding UTF8
        $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument '-NoProfile -NonInteractive -EncodedCommand \(encoded)'
        Register-ScheduledTask -TaskName \(task) -Action $action -User 'SYSTEM' -RunLevel Highest -Force | Out-Null
        Start-ScheduledTask -TaskName \(task)
        [ordered]@{ started = $true; reason = 'install task started' } }
        """)
    }

    /// The requested updates as the agent sees them, from its local cache
    /// (no network: polls must be cheap), the install task's state, its last
    /// run and result, the outcome file, and whether a restart is pending.
    /// A status file being replaced reads as unreadable, not as an error.
    static func compliance(normalizedIds: [String]) -> PowerShellScript {
        let task = L.quote(taskName)
        return script("""
        $ids = \(L.array(normalizedIds))
        $searcher = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher()
        $searcher.Online = $false
        $missing = @($searcher.Search("IsInstalled=0 and Type='Software'").Updates | Where-Object { PF-Match $_ $ids } | ForEach-Object { PF-Update $_ })
        $installed = @($searcher.Search("IsInstalled=1 and Type='Software'").Updates | Where-Object { PF-Match $_ $ids } | ForEach-Object { PF-Update $_ })
        $statusPath = Join-Path $pfDir 'install-status.json'
        $status = $null; $unreadable = $false
        if (Test-Path $statusPath) { try { $status = Get-Content -Raw $statusPath | ConvertFrom-Json } catch { $unreadable = $true } }
        $task = Get-ScheduledTask -TaskName \(task) -ErrorAction SilentlyContinue
        $info = if ($task) { Get-ScheduledTaskInfo -TaskName \(task) -ErrorAction SilentlyContinue } else { $null }
        [ordered]@{ missing = $missing; installed = $installed; task = $(if ($task) { [string]$task.State } else { '' }); lastTaskResult = $(if ($info) { [int64]$info.LastTaskResult } else { $null }); status = $status; statusUnreadable = $unreadable; rebootPending = (PF-RebootPending) }
        """)
    }

    static func rebootState() -> PowerShellScript {
        script("[ordered]@{ rebootPending = (PF-RebootPending) }")
    }

    /// Only with a restart pending (a redelivered reboot after the restart
    /// does nothing); shutdown.exe's delay lets this reply leave first.
    static func reboot() -> PowerShellScript {
        script("""
        if (-not (PF-RebootPending)) { [ordered]@{ rebooted = $false; reason = 'no reboot pending' } } else {
        & shutdown.exe /r /t 15 /d p:2:17 /c 'PatchFleet: software updates'
        # 1190: a shutdown is already scheduled; 1115: one is under way (a redelivered reboot).
        if (@(0, 1190, 1115) -notcontains $LASTEXITCODE) { PF-Fail 'internalError' ('shutdown.exe exited ' + $LASTEXITCODE) '' }
        [ordered]@{ rebooted = $true; reason = 'reboot pending' } }
        """)
    }
}
