import Foundation
import PatchFleetCore
import Testing
@testable import PatchFleetBackends

/// The Windows Update backend: hosts that patch from Windows Update or WSUS
/// through their own Windows Update Agent, over SSH to each host. Checked
/// on the scripts' text and on real-shaped replies (PowerShell does not run
/// here): the install runs as a SYSTEM scheduled task, because the agent
/// refuses to download or install from a network logon.
@Suite("Windows Update backend")
struct WindowsUpdateBackendTests {
    static let kb1 = "KB5031364"
    static let kb2 = "{8B0F5C44-1C3E-4A55-B0F5-6E9D6C7A8B9C}"  // by update GUID, in another spelling

    func backend(_ fake: FakeSSH, source: WindowsUpdateBackend.Source = .default) -> WindowsUpdateBackend {
        var template = SSHTarget.test("")
        template.user = "CONTOSO\\svc-patchfleet"
        return WindowsUpdateBackend(hostTarget: template, source: source, sshPath: FakeSSH.executable, environment: fake.environment)
    }

    @Test func theInstallRunsAsASystemTaskOnTheHostItself() async throws {
        let fake = try FakeSSH([.on("Register-ScheduledTask", reply: "windowsupdate/install-started.json")])
        try await backend(fake, source: .wsus).triggerInstall(host: "hv01.contoso.com", updateIds: [Self.kb1, Self.kb2])
        let call = try #require(try fake.calls().first)
        #expect(call.host == "hv01.contoso.com", "each host is asked itself")
        expectScript(call.body, contains: [
            "$ids = @('5031364','8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c')",
            // Observe, then act: a task still running for these ids is left
            // to finish; one running for other ids is a conflict.
            "$task = Get-ScheduledTask -TaskName 'PatchFleet Windows Update' -ErrorAction SilentlyContinue",
            "if ($task -and @('Running', 'Queued') -contains [string]$task.State) {",
            // A status that cannot be read right now is taken as these ids, never as a conflict.
            "$running = $ids; try { $running = @((Get-Content -Raw $statusPath | ConvertFrom-Json).ids) } catch { }",
            "PF-Fail 'conflict' ('an install task for other updates is running (' + ($running -join ', ') + ')') ''",
            "[ordered]@{ started = $false; reason = 'an install task for these updates is already running' } } else {",
            "Register-ScheduledTask -TaskName 'PatchFleet Windows Update' -Action $action -User 'SYSTEM' -RunLevel Highest -Force",
            "Start-ScheduledTask -TaskName 'PatchFleet Windows Update'",
        ])
        // The installer travels inline, encoded: no script file to swap, no execution policy.
        let installer = WindowsUpdateScripts.installer(.managedServer, normalizedIds: ["5031364", "8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c"])
        #expect(call.body.contains("-Argument '-NoProfile -NonInteractive -EncodedCommand \(PowerShellScript.encode(installer))'"))
        // Where SYSTEM keeps the status: its own profile, which no user may write.
        let systemProfile = "Join-Path $env:SystemRoot 'System32\\config\\systemprofile\\AppData\\Local\\PatchFleet'"
        #expect(installer.contains("$dir = \(systemProfile)") && call.script.contains("$pfDir = \(systemProfile)"))
        expectScript(installer, contains: [
            // The ids travel in the encoded installer itself: no file, no 5.1 JSON-array surprise.
            "$ids = @('5031364','8b0f5c44-1c3e-4a55-b0f5-6e9d6c7a8b9c')",
            // Replaced whole, retried while a poll holds the file; never the install's outcome.
            "if (Test-Path $statusPath) { [System.IO.File]::Replace($tmp, $statusPath, $null) } else { [System.IO.File]::Move($tmp, $statusPath) }; return } catch { Start-Sleep -Milliseconds 250 }",
            "$searcher.ServerSelection = 1",
            "$found = $searcher.Search(\"IsInstalled=0 and IsHidden=0 and Type='Software'\").Updates",
            // The polls' matching rule, the same text: an update the installer takes is one the polls find.
            WindowsUpdateScripts.matchFunction,
            "foreach ($u in $found) { if (PF-Match $u $ids) {",
            "if (-not $u.EulaAccepted) { $u.AcceptEula() }",
            "$installer = $session.CreateUpdateInstaller()",
            "resultCode = [int]$r.ResultCode; hresult = [int]$r.HResult",
        ])
        #expect(PowerShellLexer.balanced(call.body), "the calling script nests and quotes correctly")
        #expect(PowerShellLexer.balanced(installer), "and so does the installer")
    }

    @Test(arguments: [
        // A restart pending while the task works is held back: it would cut the install off.
        ("windowsupdate/compliance-installing.json", [String](), [kb1, kb2], [String](), false),
        ("windowsupdate/compliance-done.json", [kb1], [], [kb2], true),
        ("windowsupdate/compliance-not-offered.json", [], [], [kb1], false),
        ("windowsupdate/compliance-other-job.json", [], [kb1], [], false),
        ("windowsupdate/compliance-task-failed.json", [], [], [kb1], false),
        // The task stopped halfway (killed by a restart, or never ran): failed, not pending for hours.
        ("windowsupdate/compliance-stalled.json", [], [], [kb1], false),
        // Finished, still missing, no result: hidden on the host.
        ("windowsupdate/compliance-hidden.json", [], [], [kb1], false),
        // The status file being replaced: still at work.
        ("windowsupdate/compliance-unreadable.json", [], [kb1], [], false),
    ])
    func complianceOfExactlyTheRequestedUpdates(reply: String, installed: [String], pending: [String], failed: [String],
                                                 reboot: Bool) async throws {
        let fake = try FakeSSH([.on("IsInstalled=1 and Type='Software'", reply: reply)])
        let requested = ["installing", "done"].contains { reply.hasSuffix("compliance-\($0).json") } ? [Self.kb1, Self.kb2] : [Self.kb1]
        let report = try await backend(fake).compliance(host: "hv01.contoso.com", updateIds: requested)
        #expect(report.installed == installed && report.pending == pending && report.failed.map(\.updateId) == failed
                && report.pendingReboot == reboot, "\(reply): \(report)")
    }

    @Test func aFailedUpdateCarriesItsHRESULTAndANotOfferedOneSaysWhy() async throws {
        let done = try FakeSSH([.on("IsInstalled=1", reply: "windowsupdate/compliance-done.json")])
        let failure = try #require(try await backend(done).compliance(host: "hv01", updateIds: [Self.kb1, Self.kb2]).failed.first)
        #expect(failure.code == "0x80240017" && failure.message.contains("KB5032198") && failure.message.contains("result code 4"))
        let offered = try FakeSSH([.on("IsInstalled=1", reply: "windowsupdate/compliance-not-offered.json")])
        let notOffered = try #require(try await backend(offered).compliance(host: "hv01", updateIds: [Self.kb1]).failed.first)
        #expect(notOffered.code == "notOffered" && notOffered.message.contains("does not offer KB5031364"))
        let body = try #require(try offered.bodies().first)
        expectScript(body, contains: [
            "$searcher.Online = $false",  // polls read the local cache: cheap, no network
            // A status file being replaced reads as unreadable (still at work), not as an error.
            "if (Test-Path $statusPath) { try { $status = Get-Content -Raw $statusPath | ConvertFrom-Json } catch { $unreadable = $true } }",
            "$info = if ($task) { Get-ScheduledTaskInfo -TaskName 'PatchFleet Windows Update' -ErrorAction SilentlyContinue } else { $null }",
            "lastTaskResult = $(if ($info) { [int64]$info.LastTaskResult } else { $null })",
            "rebootPending = (PF-RebootPending)",
        ])
        #expect(PowerShellLexer.balanced(body))
    }

    @Test func restartOnlyWithOnePendingAndFromTheHostItself() async throws {
        let fake = try FakeSSH([.on("shutdown.exe /r /t 15", reply: "windowsupdate/rebooted.json"),
                                .on("[ordered]@{ rebootPending = (PF-RebootPending) }", reply: "windowsupdate/reboot-pending.json")])
        #expect(try await backend(fake).pendingReboot(host: "hv02.contoso.com"))
        try await backend(fake).reboot(host: "hv02.contoso.com")
        let calls = try fake.calls()
        #expect(calls.allSatisfy { $0.host == "hv02.contoso.com" })
        let reboot = try #require(calls.last?.body)
        #expect(reboot.contains("if (-not (PF-RebootPending)) { [ordered]@{ rebooted = $false; reason = 'no reboot pending' } } else {"))
        #expect(reboot.contains("if (@(0, 1190, 1115) -notcontains $LASTEXITCODE) { PF-Fail"), "a restart already scheduled is not a failure")
        let setup = try #require(calls.last?.script.split(separator: "\n").first { $0.hasPrefix("function PF-RebootPending") }.map(String.init))
        expectScript(setup, contains: [
            "(New-Object -ComObject Microsoft.Update.SystemInfo).RebootRequired",
            "Component Based Servicing\\RebootPending",
            "WindowsUpdate\\Auto Update\\RebootRequired",
        ])
    }

    /// No collections in Windows Update: the deploy step's collection calls
    /// do nothing, and a job naming a collection is refused by name.
    @Test func collectionsAreRefusedByNameAndTheDeployStepsCallsDoNothing() async throws {
        let fake = try FakeSSH([])
        let error = await backendError { _ = try await backend(fake).collectionMembers("VM Hosts") }
        #expect(error?.code == .notFound && error?.message.contains("no device collections") == true)
        try await backend(fake).ensureCollection("Patch Wave 1")
        try await backend(fake).addHost("hv01", toCollection: "Patch Wave 1")
        try await backend(fake).refreshPolicy(host: "hv01")
        #expect(try fake.calls().isEmpty)
    }

    /// The configuration: each host reached over SSH with the target as a
    /// template; ConfigMgr's keys refused; the factory builds this backend.
    @Test func configuredPerDatacenter() throws {
        let yaml = """
        datacenters:
          branch:
            virtualization:
              kind: failoverCluster
              clusters: [CL7]
              target: { host: cl7-n1.contoso.com, user: 'CONTOSO\\svc', passwordFile: /etc/patchfleet/secrets/cl7 }
            updates:
              kind: windowsUpdate
              source: wsus
              target: { user: 'CONTOSO\\svc', identityFile: /etc/patchfleet/secrets/hosts_ed25519 }
        """
        let configuration = try BackendConfiguration.load(yaml)
        #expect(configuration.problems().isEmpty, "\(configuration.problems())")
        #expect(BackendConfiguration.unknownKeys(in: yaml).isEmpty)
        let set = try BackendFactory.make(configuration, datacenter: "branch")
        #expect(set.label == "failoverCluster+windowsupdate")
        #expect((set.updates as? WindowsUpdateBackend)?.selection == .managedServer)
        let wrong = try BackendConfiguration.load(yaml.replacingOccurrences(of: "source: wsus", with: "siteCode: PS1"))
        #expect(wrong.problems().map(\.description) == ["datacenters.branch.updates.siteCode applies to configMgr only"])
    }
}
