/// Scripts for the ConfigMgr client on a Hyper-V host (root\ccm\ClientSDK),
/// run either on the site server through a CIM session to the host
/// (`computer` set) or on the host itself over its own SSH (`computer` nil).
enum ClientSDKScripts {
    typealias L = PowerShellLiteral

    /// Schedule ids for SMS_Client.TriggerSchedule (documented ConfigMgr ids).
    enum Schedule: String, CaseIterable {
        case machinePolicyRetrieval = "{00000000-0000-0000-0000-000000000021}"
        case machinePolicyEvaluation = "{00000000-0000-0000-0000-000000000022}"
        case softwareUpdatesAssignmentsEvaluation = "{00000000-0000-0000-0000-000000000108}"
        case softwareUpdateScan = "{00000000-0000-0000-0000-000000000113}"
    }

    static func setup(computer: String?) -> [String] {
        let session = computer.map { "$pfCim = @{ CimSession = (New-CimSession -ComputerName \(L.quote($0))) }" } ?? "$pfCim = @{}"
        return [
            session,
            "function PF-Trigger([string]$id) { Invoke-CimMethod @pfCim -Namespace 'root\\ccm' -ClassName SMS_Client -MethodName TriggerSchedule -Arguments @{ sScheduleID = $id } | Out-Null }",
            "function PF-Reboot { $r = Invoke-CimMethod @pfCim -Namespace 'root\\ccm\\ClientSDK' -ClassName CCM_ClientUtilities -MethodName DetermineIfRebootPending; [ordered]@{ rebootPending = [bool]$r.RebootPending; hardRebootPending = [bool]$r.IsHardRebootPending; inGracePeriod = [bool]$r.InGracePeriod } }",
            // The client's UpdateID is "Site_<site GUID>/SUM_<update GUID>": the update GUID is its tail.
            "function PF-Match($u, $ids) { ($ids -contains ([string]$u.ArticleID -replace '^KB','')) -or ($ids -contains (([string]$u.UpdateID -replace '^Site_.*/SUM_','').ToLower())) }",
        ]
    }

    static func script(_ computer: String?, _ body: String, _ shape: PowerShellScript.ResultShape = .single) -> PowerShellScript {
        PowerShellScript(body: body, shape: shape, setup: setup(computer: computer))
    }

    static func triggerSchedules(computer: String?, _ schedules: [Schedule]) -> PowerShellScript {
        script(computer, "foreach ($id in \(L.array(schedules.map(\.rawValue)))) { PF-Trigger $id }\n[ordered]@{ triggered = \(schedules.count) }")
    }

    /// Rescan, re-evaluate, then InstallUpdates for the deployed updates that
    /// are not already on their way (observe, then act).
    static func install(computer: String?, normalizedIds: [String]) -> PowerShellScript {
        script(computer, """
        PF-Trigger '\(Schedule.softwareUpdateScan.rawValue)'
        PF-Trigger '\(Schedule.softwareUpdatesAssignmentsEvaluation.rawValue)'
        $ids = \(L.array(normalizedIds))
        $all = @(Get-CimInstance @pfCim -Namespace 'root\\ccm\\ClientSDK' -ClassName CCM_SoftwareUpdate | Where-Object { PF-Match $_ $ids })
        $todo = @($all | Where-Object { @(0, 1, 13, 21) -contains [int]$_.EvaluationState })
        $rv = 0
        if ($todo.Count -gt 0) { $rv = (Invoke-CimMethod @pfCim -Namespace 'root\\ccm\\ClientSDK' -ClassName CCM_SoftwareUpdatesManager -MethodName InstallUpdates -Arguments @{ CCMUpdates = [ciminstance[]]$todo }).ReturnValue }
        if ($rv -ne 0) { PF-Fail 'installFailed' ('InstallUpdates returned ' + $rv) '' }
        [ordered]@{ found = $all.Count; started = $todo.Count; returnValue = $rv }
        """)
    }

    /// The deployed updates as the client sees them, plus the update store
    /// (updates already installed leave CCM_SoftwareUpdate) and the reboot
    /// state. Updates the client shows as available and not started (0, 1)
    /// are started here: the deployment reaches a newly added host only
    /// after the collection's evaluation and a policy cycle, minutes after
    /// the deploy step's InstallUpdates found nothing to start, and a poll
    /// is the first moment they can be (observe, then act; the client
    /// ignores a second request for an update already on its way). Updates
    /// in error (13) or waiting to retry (21) are left to the deploy step's
    /// retry, which the saga decides.
    static func compliance(computer: String?, normalizedIds: [String]) -> PowerShellScript {
        script(computer, """
        $ids = \(L.array(normalizedIds))
        $deployed = @(Get-CimInstance @pfCim -Namespace 'root\\ccm\\ClientSDK' -ClassName CCM_SoftwareUpdate | Where-Object { PF-Match $_ $ids })
        $start = @($deployed | Where-Object { @(0, 1) -contains [int]$_.EvaluationState })
        if ($start.Count -gt 0) { $rv = (Invoke-CimMethod @pfCim -Namespace 'root\\ccm\\ClientSDK' -ClassName CCM_SoftwareUpdatesManager -MethodName InstallUpdates -Arguments @{ CCMUpdates = [ciminstance[]]$start }).ReturnValue; if ($rv -ne 0) { PF-Fail 'installFailed' ('InstallUpdates returned ' + $rv) '' } }
        $updates = @($deployed | ForEach-Object { [ordered]@{ articleId = [string]$_.ArticleID; updateId = [string]$_.UpdateID; name = [string]$_.Name; evaluationState = [int]$_.EvaluationState; complianceState = [int]$_.ComplianceState; errorCode = [int64]$_.ErrorCode; percentComplete = [int]$_.PercentComplete } })
        $store = @(Get-CimInstance @pfCim -Namespace 'root\\ccm\\SoftwareUpdates\\UpdatesStore' -ClassName CCM_UpdateStatus | Where-Object { ($ids -contains ([string]$_.Article -replace '^KB','')) -or ($ids -contains ([string]$_.UniqueId).ToLower()) } | ForEach-Object { [ordered]@{ article = [string]$_.Article; uniqueId = [string]$_.UniqueId; status = [string]$_.Status } })
        [ordered]@{ updates = $updates; store = $store; reboot = (PF-Reboot); started = $start.Count }
        """)
    }

    static func rebootState(computer: String?) -> PowerShellScript {
        script(computer, "PF-Reboot")
    }

    /// Reboots only when the client says a reboot is pending (a redelivered
    /// reboot task after the restart does nothing). From the site server,
    /// Restart-Computer returns at once; on the host itself, shutdown.exe
    /// with a delay lets this reply leave before sshd goes down.
    static func reboot(computer: String?) -> PowerShellScript {
        // WSMan: the WinRM access every other client call uses. Windows
        // PowerShell's default for -ComputerName is DCOM, often firewalled
        // where WinRM is open.
        let restart = computer.map { "Restart-Computer -ComputerName \(L.quote($0)) -Protocol WSMan -Force" }
            ?? "& shutdown.exe /r /t 15 /d p:2:17 /c 'PatchFleet: software updates'; if ($LASTEXITCODE -ne 0) { PF-Fail 'internalError' ('shutdown.exe exited ' + $LASTEXITCODE) '' }"
        return script(computer, """
        $r = PF-Reboot
        if (-not ($r.rebootPending -or $r.hardRebootPending)) { [ordered]@{ rebooted = $false; reason = 'no reboot pending' } } else {
        \(restart)
        [ordered]@{ rebooted = $true; reason = 'reboot pending' } }
        """)
    }
}
