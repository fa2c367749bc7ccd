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
            // SYSTEM's own profile: only SYSTEM and Administrators may write
            // there (any user may create folders in ProgramData, and one who
            // made ours first could rewrite the status the polls trust).
            #"$pfDir = Join-Path $env:SystemRoot 'System32\config\systemprofile\AppData\Local\PatchFleet'"#,
            // Three sources, as the servicing stack spreads it: the agent's
            // own flag, Component Based Servicing, and Windows Update's key.
            #"function PF-RebootPending { $si = [bool](New-Object -ComObject Microsoft.Update.SystemInfo).RebootRequired; $cbs = Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'; $wu = Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'; ($si -or $cbs -or $wu) }"#,
            matchFunction,
            #"function PF-Update($u) { [ordered]@{ updateId = ([string]$u.Identity.UpdateID).ToLower(); kb = [string](@($u.KBArticleIDs) -join ','); title = [string]$u.Title } }"#,
        ]
    }

    /// A job names updates by KB number (without "KB") or update GUID: the
    /// one rule the polls and the installer (a script of its own) both use.
    static let matchFunction = #"function PF-Match($u, $ids) { ((@($u.KBArticleIDs) | Where-Object { $ids -contains ([string]$_) }).Count -gt 0) -or ($ids -contains ([string]$u.Identity.UpdateID).ToLower()) }"#

    static func script(_ body: String, _ shape: PowerShellScript.ResultShape = .single) -> PowerShellScript {
        PowerShellScript(body: body, shape: shape, setup: setup())
    }

    /// What the SYSTEM task runs: search, download, install the matching
    /// updates, writing its progress and each update's result to
    /// install-status.json (with the ids it ran for, so a later job never
    /// reads an earlier job's outcome as its own). It travels inline, as the
    /// task's `-EncodedCommand`, ids included: no file anyone could swap,
    /// and no execution policy applies. The status is written to a
    /// temporary file that replaces the old one, retried while a poll holds
    /// it open; a status that cannot be written is never the install's
    /// outcome.
    static func installer(_ selection: ServerSelection, normalizedIds: [String]) -> String {
        """
        $ErrorActionPreference = 'Stop'
        $dir = Join-Path $env:SystemRoot 'System32\\config\\systemprofile\\AppData\\Local\\PatchFleet'
        $statusPath = Join-Path $dir 'install-status.json'
        $ids = \(L.array(normalizedIds))
        \(matchFunction)
        function Write-Status($state, $detail, $results) {
        $tmp = $statusPath + '.tmp'
        [ordered]@{ state = $state; detail = $detail; ids = $ids; at = (Get-Date).ToUniversalTime().ToString('o'); results = @($results) } | ConvertTo-Json -Depth 4 -Compress | Set-Content -Path $tmp -Encoding UTF8
        for ($i = 0; $i -lt 20; $i++) { try { if (Test-Path $statusPath) { [System.IO.File]::Replace($tmp, $statusPath, $null) } else { [System.IO.File]::Move($tmp, $statusPath) }; return } catch { Start-Sleep -Milliseconds 250 } }
        }
        try {
        Write-Status 'searching' '' @()
        $session = New-Object -ComObject Microsoft.Update.Session
        $session.ClientApplicationID = 'PatchFleet'
        $searcher = $session.CreateUpdateSearcher()
        $searcher.ServerSelection = \(selection.rawValue)
        $found = $searcher.Search("IsInstalled=0 and IsHidden=0 and Type='Software'").Updates
        $todo = New-Object -ComObject Microsoft.Update.UpdateColl
        foreach ($u in $found) { if (PF-Match $u $ids) { if (-not $u.EulaAccepted) { $u.AcceptEula() }; [void]$todo.Add($u) } }
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
    /// other ids (a job given up on) is a conflict the saga retries (a
    /// status that cannot be read right now is taken as these ids). Otherwise
    /// a queued status is written and the SYSTEM task is (re)registered with
    /// the installer inline and started.
    static func install(normalizedIds: [String], selection: ServerSelection) -> PowerShellScript {
        let task = L.quote(taskName)
        let encoded = PowerShellScript.encode(installer(selection, normalizedIds: normalizedIds))
        return script("""
        $ids = \(L.array(normalizedIds))
        $task = Get-ScheduledTask -TaskName \(task) -ErrorAction SilentlyContinue
        $statusPath = Join-Path $pfDir 'install-status.json'
        if ($task -and @('Running', 'Queued') -contains [string]$task.State) {
        $running = $ids; try { $running = @((Get-Content -Raw $statusPath | ConvertFrom-Json).ids) } catch { }
        if ((@($ids | Where-Object { $running -notcontains $_ }).Count -gt 0) -or (@($running | Where-Object { $ids -notcontains $_ }).Count -gt 0)) { PF-Fail 'conflict' ('an install task for other updates is running (' + ($running -join ', ') + ')') '' }
        [ordered]@{ started = $false; reason = 'an install task for these updates is already running' } } else {
        New-Item -ItemType Directory -Force -Path $pfDir | Out-Null
        Set-Content -Path $statusPath -Value (ConvertTo-Json -InputObject ([ordered]@{ state = 'queued'; detail = ''; ids = $ids; at = (Get-Date).ToUniversalTime().ToString('o'); results = @() }) -Compress) -Encoding UTF8
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
