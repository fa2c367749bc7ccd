import Foundation
import PatchFleetCore
import Testing
@testable import PatchFleetBackends

@Suite("ConfigMgr backend")
struct ConfigMgrBackendTests {
    static let kb1 = "KB5031364"
    static let kb2 = "{8B0F5C44-1C3E-4A55-B0F5-6E9D6C7A8B9C}"  // by update GUID, in another spelling

    func backend(_ fake: FakeSSH, access: ConfigMgrBackend.ClientAccess = .viaSiteServer) -> ConfigMgrBackend {
        ConfigMgrBackend(siteServer: fake.runner(), siteCode: "PS1", clientAccess: access)
    }

    @Test func siteScriptsRunFromTheSiteDrive() async throws {
        let fake = try FakeSSH([.on("Get-CMCollectionMember -CollectionId $c.CollectionID", reply: "configmgr/members.json")])
        #expect(try await backend(fake).collectionMembers("VM Hosts in Building 44") == ["HV01", "HV02"])
        let script = try #require(try fake.calls().first?.script)
        #expect(script.contains("Import-Module (Join-Path $env:SMS_ADMIN_UI_PATH '..\\ConfigurationManager.psd1')"))
        #expect(script.contains("Set-Location -Path ('PS1' + ':')"))
        #expect(script.contains("$c = PF-Collection 'VM Hosts in Building 44'"))
    }

    @Test func oneMemberComesBackAsAList() async throws {
        let fake = try FakeSSH([.on("Get-CMCollectionMember", reply: "configmgr/members-one.json")])
        #expect(try await backend(fake).collectionMembers("x") == ["HV01"])
    }

    @Test func ensureCollectionCreatesOnlyWhenMissing() async throws {
        let fake = try FakeSSH([.on("New-CMDeviceCollection", reply: "configmgr/collection-exists.json")])
        try await backend(fake).ensureCollection("Patch Wave 1")
        let body = try #require(try fake.bodies().first)
        #expect(body.contains("if (Get-CMDeviceCollection -Name 'Patch Wave 1') { [ordered]@{ created = $false } } else {"))
        #expect(body.contains("New-CMDeviceCollection -Name 'Patch Wave 1' -LimitingCollectionName 'All Systems' -RefreshType Manual"))
    }

    @Test func addHostSkipsExistingRulesAndMembers() async throws {
        let fake = try FakeSSH([.on("Add-CMDeviceCollectionDirectMembershipRule", reply: "configmgr/member-added.json")])
        try await backend(fake).addHost("hv01", toCollection: "Patch Wave 1")
        let body = try #require(try fake.bodies().first)
        #expect(body.contains("$d = PF-Device 'hv01'"))
        #expect(body.contains("if (-not $rule -and -not $member) { Add-CMDeviceCollectionDirectMembershipRule -CollectionId $c.CollectionID -ResourceId $d.ResourceID"))
        #expect(body.contains("Invoke-CMCollectionUpdate -CollectionId $c.CollectionID"))
    }

    @Test func unknownDevice() async throws {
        let fake = try FakeSSH([.on("Add-CMDeviceCollectionDirectMembershipRule", reply: "configmgr/error-no-device.json")])
        let error = await backendError { try await backend(fake).addHost("hv77", toCollection: "w") }
        #expect(error == BackendError(.notFound, "ConfigMgr has no live device named 'hv77'"))
    }

    /// VMM's name for a host is its FQDN, ConfigMgr's its NetBIOS name: the
    /// device is looked up by the full name, then by the short one (cut to
    /// NetBIOS's 15 characters), and a record found by the short name must
    /// list the FQDN among its discovered names. (Checked here on the
    /// script's text; PowerShell cannot run on this machine.)
    @Test func aDeviceNamedByItsFQDNIsFoundByItsShortNameInItsOwnDomain() async throws {
        let fake = try FakeSSH([.on("Add-CMDeviceCollectionDirectMembershipRule", reply: "configmgr/member-added.json")])
        try await backend(fake).addHost("hv01.contoso.com", toCollection: "Patch Wave 1")
        let call = try #require(try fake.calls().first)
        #expect(call.body.contains("$d = PF-Device 'hv01.contoso.com'"))
        let device = try #require(call.script.split(separator: "\n").first { $0.hasPrefix("function PF-Device") }.map(String.init))
        expectScript(device, contains: [
            "$d = @(Get-CMDevice -Name $n -Fast | Where-Object { -not $_.IsObsolete })",  // live records by the full name
            "if ($d.Count -eq 0 -and $n.Contains('.')) { $s = $n.Split('.')[0]; if ($s.Length -gt 15) { $s = $s.Substring(0, 15) }",
            "Get-CMDevice -Name $s -Fast | Where-Object { -not $_.IsObsolete -and (@((Get-CMResource -ResourceId $_.ResourceID -Fast).ResourceNames) -contains $n) }",
            "if ($d.Count -gt 1) { PF-Fail 'conflict'",
        ])
        #expect(!device.contains("@($d)[0]"), "never the first of several")
        #expect(PowerShellLexer.balanced(device), "quotes, parentheses and braces balance")
    }

    @Test func twoLiveDevicesOfOneNameAreAConflictNamingThem() async throws {
        let fake = try FakeSSH([.on("Add-CMDeviceCollectionDirectMembershipRule", reply: "configmgr/error-two-devices.json")])
        let error = await backendError { try await backend(fake).addHost("hv01.contoso.com", toCollection: "w") }
        #expect(error == BackendError(.conflict,
                                      "ConfigMgr has 2 live devices for 'hv01.contoso.com' (ResourceIDs 16777220, 16777301); remove the stale ones"))
    }

    /// A job may name a software update group: its live updates, by the
    /// update GUID the client reports, become the job's update ids.
    @Test func aSoftwareUpdateGroupIsAnUpdateListOfItsUnexpiredUpdates() async throws {
        let fake = try FakeSSH([.on("Get-CMSoftwareUpdateGroup", reply: "configmgr/update-group.json")])
        let list = try await backend(fake).updateList(named: "2026-11 Cumulative Update")
        #expect(list == UpdateList(name: "2026-11 Cumulative Update",
                                   updateIds: ["1d7a3e3b-52a6-4e7c-9a62-2f2f5a1f0c11", "8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c"]),
                "the superseded KB5029931 and the expired KB5029244 are left out")
        let body = try #require(try fake.bodies().first)
        expectScript(body, contains: [
            "$g = @(Get-CMSoftwareUpdateGroup -Name '2026-11 Cumulative Update' -DisableWildcardHandling)",
            "if ($g.Count -eq 0) { PF-Fail 'notFound'",
            "if ($g.Count -gt 1) { PF-Fail 'conflict'",
            "Get-CMSoftwareUpdate -UpdateGroup $g[0] -Fast",
            "updateId = [string]$_.CI_UniqueID; articleId = [string]$_.ArticleID",
            "expired = [bool]$_.IsExpired; superseded = [bool]$_.IsSuperseded",
        ])
        #expect(PowerShellLexer.balanced(body), "quotes, parentheses and braces balance")
    }

    /// A monthly group holds updates for several OS builds: what the site
    /// reports a host does not need (status 1) is left out of its saga.
    @Test func whatEachHostDoesNotNeedComesFromTheSite() async throws {
        let fake = try FakeSSH([.on("SMS_UpdateComplianceStatus", reply: "configmgr/not-required.json")])
        let list = UpdateList(name: "2026-11 Cumulative Update",
                              updateIds: ["1d7a3e3b-52a6-4e7c-9a62-2f2f5a1f0c11", "8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c"])
        let notNeeded = try await backend(fake).updatesNotNeeded(in: list, onHosts: ["hv01.contoso.com", "hv02.contoso.com", "hv03.contoso.com"])
        #expect(notNeeded == ["hv02.contoso.com": ["8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c"],
                              "hv03.contoso.com": ["1d7a3e3b-52a6-4e7c-9a62-2f2f5a1f0c11", "8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c"]],
                "hv01 needs both; an id outside the list (the superseded one) is ignored: \(notNeeded)")
        let body = try #require(try fake.bodies().first)
        expectScript(body, contains: [
            "$ns = 'root\\SMS\\site_PS1'",
            "$g = @(Get-CMSoftwareUpdateGroup -Name '2026-11 Cumulative Update' -DisableWildcardHandling)",
            "Get-CMSoftwareUpdate -UpdateGroup $g[0] -Fast | ForEach-Object { $ci[[int]$_.CI_ID] = ([string]$_.CI_UniqueID).ToLower() }",
            "foreach ($h in @('hv01.contoso.com','hv02.contoso.com','hv03.contoso.com')) {",
            "$d = PF-Device $h",
            // The class keys the device as MachineID (no ResourceID property).
            "-ClassName SMS_UpdateComplianceStatus -Filter ('MachineID = ' + [int]$d.ResourceID + ' AND Status = 1')",
        ])
        #expect(PowerShellLexer.balanced(body))
        #expect(try await backend(FakeSSH([])).updatesNotNeeded(in: list, onHosts: []).isEmpty, "no hosts, no call")
    }

    /// Windows PowerShell 5.1 can wrap a one-element array as {value, Count}.
    @Test func aGroupOfOneUpdateInWindowsPowerShellsWrapping() async throws {
        let fake = try FakeSSH([.on("Get-CMSoftwareUpdateGroup", reply: "configmgr/update-group-one.json")])
        #expect(try await backend(fake).updateList(named: "Out of band 2026-11-20")?.updateIds == ["6e2f8a10-3b4c-4d5e-9f60-718293a4b5c6"])
    }

    /// No group of that name is no list (the job is refused by name), not a failure of the site.
    @Test func anUnknownGroupIsNoList() async throws {
        let fake = try FakeSSH([.on("Get-CMSoftwareUpdateGroup", reply: "configmgr/error-no-update-group.json")])
        #expect(try await backend(fake).updateList(named: "2026-12 Cumulative Update") == nil)
        let unreachable = try FakeSSH([.on("Get-CMSoftwareUpdateGroup", reply: "configmgr/error-winrm.json")])
        let error = await backendError { _ = try await backend(unreachable).updateList(named: "2026-12 Cumulative Update") }
        #expect(error != nil && error?.code != .notFound, "a site that cannot answer is an error, never 'no such list'")
    }

    @Test func anUpdateWithoutAnIdIsRefusedNotSkipped() throws {
        let reply = try JSONValue.parse(Data(#"{"updates":[{"updateId":"","articleId":"5031364","expired":false}]}"#.utf8))
        #expect(throws: BackendError.self) { try ConfigMgrBackend.updateList(named: "g", reply: reply) }
    }

    @Test func refreshPolicyNotifiesAndTriggersSchedules() async throws {
        let fake = try FakeSSH([
            .on("Invoke-CMClientNotification", reply: "configmgr/notified.json"),
            .on("PF-Trigger $id", reply: "configmgr/triggered.json"),
        ])
        try await backend(fake).refreshPolicy(host: "hv01")
        let calls = try fake.calls()
        #expect(calls[0].body.contains("Invoke-CMClientNotification -Device $d -ActionType ClientNotificationRequestMachinePolicyNow"))
        #expect(calls[0].body.contains("-ActionType ClientNotificationSUMDeplEvalNow"))
        #expect(calls[1].body.contains("@('{00000000-0000-0000-0000-000000000021}','{00000000-0000-0000-0000-000000000022}')"))
        #expect(calls[1].script.contains("$pfCim = @{ CimSession = (New-CimSession -ComputerName 'hv01') }"))
    }

    @Test func triggerInstallScansEvaluatesAndInstallsOnlyTheDeployedIds() async throws {
        let fake = try FakeSSH([.on("InstallUpdates", reply: "configmgr/install-started.json")])
        try await backend(fake).triggerInstall(host: "hv01", updateIds: [Self.kb1, Self.kb2])
        let body = try #require(try fake.bodies().first)
        #expect(body.contains("PF-Trigger '{00000000-0000-0000-0000-000000000113}'"))
        #expect(body.contains("PF-Trigger '{00000000-0000-0000-0000-000000000108}'"))
        #expect(body.contains("$ids = @('5031364','8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c')"))
        #expect(body.contains("@(0, 1, 13, 21) -contains [int]$_.EvaluationState"))
        #expect(body.contains("-ClassName CCM_SoftwareUpdatesManager -MethodName InstallUpdates -Arguments @{ CCMUpdates = [ciminstance[]]$todo }"))
    }

    /// A host just added to the collection sees the deployment minutes after
    /// the deploy step (collection evaluation, then policy): the poll starts
    /// what has arrived since, and only that (errors are the saga's retry).
    @Test func thePollStartsUpdatesThatArrivedAfterTheDeployStep() async throws {
        let fake = try FakeSSH([.on("CCM_UpdateStatus", reply: "configmgr/compliance-installing.json")])
        _ = try await backend(fake).compliance(host: "hv01", updateIds: [Self.kb1, Self.kb2])
        let body = try #require(try fake.bodies().first)
        expectScript(body, contains: [
            "$start = @($deployed | Where-Object { @(0, 1) -contains [int]$_.EvaluationState })",
            "if ($start.Count -gt 0) { $rv = (Invoke-CimMethod @pfCim -Namespace 'root\\ccm\\ClientSDK' -ClassName CCM_SoftwareUpdatesManager -MethodName InstallUpdates -Arguments @{ CCMUpdates = [ciminstance[]]$start }).ReturnValue; if ($rv -ne 0) { PF-Fail 'installFailed'",
            "$updates = @($deployed | ForEach-Object {",
        ])
        #expect(PowerShellLexer.balanced(body))
    }

    /// A restart reported while an install is under way (just started by
    /// the poll, or downloading, installing) would cut it off: it waits.
    @Test func noRestartIsReportedWhileAnInstallIsUnderWay() throws {
        func report(_ json: String) throws -> ComplianceReport {
            ComplianceMapping.report(requested: ["5031364", "5032198"], reply: try JSONValue.parse(Data(json.utf8)))
        }
        let pendingRebootAndNew = #"{"updates":[{"articleId":"5031364","updateId":"a","evaluationState":8,"complianceState":0},{"articleId":"5032198","updateId":"b","evaluationState":1,"complianceState":0}],"store":[],"reboot":{"rebootPending":true},"started":1}"#
        #expect(try !report(pendingRebootAndNew).pendingReboot, "B was just started")
        let downloading = #"{"updates":[{"articleId":"5031364","updateId":"a","evaluationState":8,"complianceState":0},{"articleId":"5032198","updateId":"b","evaluationState":5,"complianceState":0}],"store":[],"reboot":{"rebootPending":true},"started":0}"#
        #expect(try !report(downloading).pendingReboot, "B is downloading")
        let settled = #"{"updates":[{"articleId":"5031364","updateId":"a","evaluationState":8,"complianceState":0},{"articleId":"5032198","updateId":"b","evaluationState":9,"complianceState":0}],"store":[],"reboot":{"rebootPending":true},"started":0}"#
        #expect(try report(settled).pendingReboot)
    }

    /// The client's UpdateID is "Site_<site GUID>/SUM_<update GUID>": a job
    /// naming the update GUID (a software update group's) must match it.
    @Test func theClientsSiteScopedUpdateIDMatchesTheUpdateGUID() throws {
        let script = ClientSDKScripts.compliance(computer: "hv01", normalizedIds: ["x"]).text
        #expect(script.contains("($ids -contains (([string]$u.UpdateID -replace '^Site_.*/SUM_','').ToLower()))"))
        let reply = try JSONValue.parse(Data("""
            {"updates":[{"articleId":"5032198","updateId":"Site_7B3D6C0E-1A2B-4C5D-8E9F-0A1B2C3D4E5F/SUM_8B0F5C44-1C3E-4A55-B0F5-6E9D6C7A8B9C","name":"u","evaluationState":8,"complianceState":0,"errorCode":0,"percentComplete":100}],"store":[],"reboot":{"rebootPending":true,"hardRebootPending":false}}
            """.utf8))
        let report = ComplianceMapping.report(requested: ["8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c"], reply: reply)
        #expect(report.installed == ["8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c"] && report.pendingReboot, "\(report)")
        #expect(UpdateIdentity.normalize("Site_7B3D6C0E-1A2B-4C5D-8E9F-0A1B2C3D4E5F/SUM_8B0F5C44-1C3E-4A55-B0F5-6E9D6C7A8B9C")
            == "8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c")
    }

    @Test func installFailure() async throws {
        let fake = try FakeSSH([.on("InstallUpdates", reply: "configmgr/install-failed.json")])
        let error = await backendError { try await backend(fake).triggerInstall(host: "hv01", updateIds: [Self.kb1]) }
        #expect(error?.code == .installFailed)
    }

    @Test(arguments: [
        ("configmgr/compliance-installing.json", [String](), [kb1, kb2], false),
        ("configmgr/compliance-pending-reboot.json", [kb1, kb2], [], true),
        ("configmgr/compliance-installed.json", [kb1, kb2], [], false),
        ("configmgr/compliance-unknown.json", [], [kb1, kb2], false),
    ])
    func complianceOfExactlyTheDeployedUpdates(reply: String, installed: [String], pending: [String], reboot: Bool) async throws {
        let fake = try FakeSSH([.on("CCM_UpdateStatus", reply: reply)])
        let report = try await backend(fake).compliance(host: "hv01", updateIds: [Self.kb1, Self.kb2])
        #expect(report == ComplianceReport(installed: installed, pending: pending, failed: [], pendingReboot: reboot))
    }

    @Test func errorsCarryTheClientsCodeInHex() async throws {
        let fake = try FakeSSH([.on("CCM_UpdateStatus", reply: "configmgr/compliance-error.json")])
        let report = try await backend(fake).compliance(host: "hv01", updateIds: [Self.kb1, Self.kb2])
        #expect(report.failed == [UpdateFailure(updateId: Self.kb1, code: "0x800705B4",
                                                message: "2023-11 Cumulative Update for Microsoft server operating system version 21H2 for x64-based Systems (KB5031364): EvaluationState 13 (error)")])
        #expect(report.installed == [Self.kb2] && report.pendingReboot)  // 9: pending hard reboot
    }

    @Test func updatesNotDeployedNeverWidenTheReport() async throws {
        let fake = try FakeSSH([.on("CCM_UpdateStatus", reply: "configmgr/compliance-extra.json")])
        let report = try await backend(fake).compliance(host: "hv01", updateIds: [Self.kb1])
        #expect(report == ComplianceReport(installed: [], pending: [Self.kb1], failed: [], pendingReboot: false))
    }

    @Test func pendingRebootAndObservedReboot() async throws {
        let fake = try FakeSSH([
            .on("Restart-Computer", reply: "configmgr/rebooted.json"),
            .on("PF-Reboot", reply: "configmgr/reboot-pending.json"),
        ])
        #expect(try await backend(fake).pendingReboot(host: "hv01"))
        try await backend(fake).reboot(host: "hv01")
        let body = try #require(try fake.bodies().last)
        #expect(body.contains("if (-not ($r.rebootPending -or $r.hardRebootPending)) { [ordered]@{ rebooted = $false"))
        #expect(body.contains("Restart-Computer -ComputerName 'hv01' -Protocol WSMan -Force"), "WinRM, not Windows PowerShell's default DCOM")
    }

    @Test func clientUnreachableOverWinRM() async throws {
        let fake = try FakeSSH([.on("PF-Reboot", reply: "configmgr/error-winrm.json")])
        let error = await backendError { _ = try await backend(fake).pendingReboot(host: "hv01") }
        #expect(error?.code == .unreachable)
        #expect(error?.message.hasPrefix("WinRM cannot complete the operation.") == true)
    }

    @Test func directSSHRunsOnTheHostWithLocalCIM() async throws {
        let fake = try FakeSSH([
            FakeSSH.Rule(match: ["Restart-Computer"], host: "hv01", reply: "configmgr/rebooted.json"),
            FakeSSH.Rule(match: ["shutdown.exe /r /t 15"], host: "hv01", reply: "configmgr/rebooted.json"),
        ])
        var template = SSHTarget.test("")
        template.user = "svc-host"
        try await backend(fake, access: .directSSH(template)).reboot(host: "hv01")
        let call = try #require(try fake.calls().first)
        #expect(call.host == "hv01")
        #expect(call.script.contains("$pfCim = @{}"))
        #expect(call.body.contains("& shutdown.exe /r /t 15"))
        #expect(!call.body.contains("Restart-Computer"))
    }
}
