/// Script builders for the ConfigMgr site server (ConfigurationManager
/// module, run from the site drive).
enum ConfigMgrScripts {
    typealias L = PowerShellLiteral

    /// The console's module path is in SMS_ADMIN_UI_PATH; the cmdlets only
    /// work with the site drive ("PS1:") as the current location.
    static func setup(siteCode: String) -> [String] {
        [
            "Import-Module (Join-Path $env:SMS_ADMIN_UI_PATH '..\\ConfigurationManager.psd1')",
            // The site drive exists only once the console has been opened by
            // this account; create it on first use (the site server is the
            // SMS provider in the usual single-server site).
            "if (-not (Get-PSDrive -Name \(L.quote(siteCode)) -PSProvider CMSite -ErrorAction SilentlyContinue)) { New-PSDrive -Name \(L.quote(siteCode)) -PSProvider CMSite -Root $env:COMPUTERNAME | Out-Null }",
            "Set-Location -Path (\(L.quote(siteCode)) + ':')",
            "function PF-Collection([string]$n) { $c = Get-CMDeviceCollection -Name $n; if (-not $c) { PF-Fail 'notFound' (\"ConfigMgr has no device collection named '\" + $n + \"'\") $n }; $c }",
            // Sagas name hosts as VMM does (an FQDN); ConfigMgr names devices
            // by NetBIOS name (the first label, cut to 15 characters). Obsolete
            // records (a reinstalled machine) are passed over. A device found
            // by the short name must list the FQDN among its discovered names
            // (SMS_R_System.ResourceNames): another domain's HV01 is not our
            // hv01.contoso.com. Two live records is a question for a person,
            // never a guess: the wrong one would get the deployment.
            #"function PF-Device([string]$n) { $d = @(Get-CMDevice -Name $n -Fast | Where-Object { -not $_.IsObsolete }); $s = $n; if ($d.Count -eq 0 -and $n.Contains('.')) { $s = $n.Split('.')[0]; if ($s.Length -gt 15) { $s = $s.Substring(0, 15) }; $d = @(Get-CMDevice -Name $s -Fast | Where-Object { -not $_.IsObsolete -and (@((Get-CMResource -ResourceId $_.ResourceID -Fast).ResourceNames) -contains $n) }) }; if ($d.Count -eq 0) { PF-Fail 'notFound' ("ConfigMgr has no live device named '" + $n + "'" + $(if ($s -ne $n) { " (nor '" + $s + "' with '" + $n + "' among its discovered names)" } else { "" })) $n }; if ($d.Count -gt 1) { PF-Fail 'conflict' ("ConfigMgr has " + $d.Count + " live devices for '" + $n + "' (ResourceIDs " + (($d | ForEach-Object { $_.ResourceID }) -join ', ') + "); remove the stale ones") $n }; $d[0] }"#,
        ]
    }

    static func script(_ site: String, _ body: String, _ shape: PowerShellScript.ResultShape = .single) -> PowerShellScript {
        PowerShellScript(body: body, shape: shape, setup: setup(siteCode: site))
    }

    static func members(site: String, collection: String) -> PowerShellScript {
        script(site, "$c = PF-Collection \(L.quote(collection))\nGet-CMCollectionMember -CollectionId $c.CollectionID | ForEach-Object { [string]$_.Name }", .list)
    }

    static func ensureCollection(site: String, collection: String, limitingCollection: String) -> PowerShellScript {
        let name = L.quote(collection)
        return script(site, """
        if (Get-CMDeviceCollection -Name \(name)) { [ordered]@{ created = $false } } else {
        New-CMDeviceCollection -Name \(name) -LimitingCollectionName \(L.quote(limitingCollection)) -RefreshType Manual | Out-Null
        [ordered]@{ created = $true } }
        """)
    }

    /// Adds the direct rule unless it (or membership) is already there, then
    /// asks for a membership evaluation so the deployment reaches the host.
    static func addMember(site: String, host: String, collection: String) -> PowerShellScript {
        script(site, """
        $c = PF-Collection \(L.quote(collection))
        $d = PF-Device \(L.quote(host))
        $rule = Get-CMDeviceCollectionDirectMembershipRule -CollectionId $c.CollectionID -ResourceId $d.ResourceID
        $member = Get-CMCollectionMember -CollectionId $c.CollectionID -ResourceId $d.ResourceID
        if (-not $rule -and -not $member) { Add-CMDeviceCollectionDirectMembershipRule -CollectionId $c.CollectionID -ResourceId $d.ResourceID | Out-Null }
        if (-not $member) { Invoke-CMCollectionUpdate -CollectionId $c.CollectionID | Out-Null }
        [ordered]@{ ruleAdded = (-not $rule -and -not $member); alreadyMember = [bool]$member }
        """)
    }

    /// A software update group's updates by update GUID (`CI_UniqueID`,
    /// which the client reports as `CCM_SoftwareUpdate.UpdateID`), with
    /// their article ids, titles and whether they expired or were superseded. The name is
    /// literal (`-DisableWildcardHandling`: "2026-11 [Servers]" is a name,
    /// not a pattern); no group is `notFound`, two of one name a `conflict`.
    static func updateGroup(site: String, name: String) -> PowerShellScript {
        let literal = L.quote(name)
        return script(site, """
        $g = @(Get-CMSoftwareUpdateGroup -Name \(literal) -DisableWildcardHandling)
        if ($g.Count -eq 0) { PF-Fail 'notFound' ("ConfigMgr has no software update group named '" + \(literal) + "'") \(literal) }
        if ($g.Count -gt 1) { PF-Fail 'conflict' ("ConfigMgr has " + $g.Count + " software update groups named '" + \(literal) + "' (CI_IDs " + (($g | ForEach-Object { $_.CI_ID }) -join ', ') + ")") \(literal) }
        $u = @(Get-CMSoftwareUpdate -UpdateGroup $g[0] -Fast | ForEach-Object { [ordered]@{ updateId = [string]$_.CI_UniqueID; articleId = [string]$_.ArticleID; title = [string]$_.LocalizedDisplayName; expired = [bool]$_.IsExpired; superseded = [bool]$_.IsSuperseded } })
        [ordered]@{ name = [string]$g[0].LocalizedDisplayName; updates = $u }
        """)
    }

    /// By host, the group's updates the site knows it does not need
    /// (`SMS_UpdateComplianceStatus.Status` 1, "not required": not
    /// applicable, or superseded on it), by update GUID. Status 0 (the
    /// client has not reported) and 2/3 (required, installed) keep an
    /// update. The class keys a device as `MachineID` (its ResourceID). A
    /// target host with no live device fails the call, and the job: its
    /// deploy step could only fail later, with the host already drained.
    /// The provider is the site server the scripts run on.
    static func notRequired(site: String, group: String, hosts: [String]) -> PowerShellScript {
        script(site, """
        $ns = \(L.quote("root\\SMS\\site_" + site))
        $g = @(Get-CMSoftwareUpdateGroup -Name \(L.quote(group)) -DisableWildcardHandling)
        if ($g.Count -ne 1) { PF-Fail 'notFound' ("ConfigMgr has " + $g.Count + " software update groups named '" + \(L.quote(group)) + "'") \(L.quote(group)) }
        $ci = @{}
        Get-CMSoftwareUpdate -UpdateGroup $g[0] -Fast | ForEach-Object { $ci[[int]$_.CI_ID] = ([string]$_.CI_UniqueID).ToLower() }
        foreach ($h in \(L.array(hosts))) {
        $d = PF-Device $h
        $not = @(Get-CimInstance -Namespace $ns -ClassName SMS_UpdateComplianceStatus -Filter ('MachineID = ' + [int]$d.ResourceID + ' AND Status = 1') | Where-Object { $ci.ContainsKey([int]$_.CI_ID) } | ForEach-Object { $ci[[int]$_.CI_ID] })
        [ordered]@{ host = $h; notRequired = $not } }
        """, .list)
    }

    /// Client notification through the site (fast channel): machine policy
    /// now, then software update deployment evaluation.
    static func notifyClient(site: String, host: String) -> PowerShellScript {
        script(site, """
        $d = PF-Device \(L.quote(host))
        Invoke-CMClientNotification -Device $d -ActionType ClientNotificationRequestMachinePolicyNow | Out-Null
        Invoke-CMClientNotification -Device $d -ActionType ClientNotificationSUMDeplEvalNow | Out-Null
        [ordered]@{ notified = [string]$d.Name }
        """)
    }
}
