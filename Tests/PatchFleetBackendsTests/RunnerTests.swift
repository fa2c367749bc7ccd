import Foundation
import PatchFleetCore
import Testing
@testable import PatchFleetBackends

@Suite("PowerShell runner over the fake ssh")
struct RunnerTests {
    let script = PowerShellScript(body: "Get-Thing -Name 'x'")

    @Test func commandLineCarriesNoSecretsAndTheEncodedScript() async throws {
        let fake = try FakeSSH([.on("Get-Thing", reply: "vmm/clusters.json")])
        let target = SSHTarget(host: "vmm01.contoso.com", port: 2222, user: "svc", identityFile: "/keys/id", knownHostsFile: "/keys/known",
                               hostKeyChecking: .acceptNew, connectTimeoutSeconds: 7, callTimeoutSeconds: 20)
        let reply = try await fake.runner(target).run(script, operation: "test")
        #expect(reply.elements.first?["name"].string == "CL44.contoso.com")
        let call = try #require(try fake.calls().first)
        let argv = call.argv
        for expected in ["BatchMode=yes", "ConnectTimeout=7", "StrictHostKeyChecking=accept-new", "UserKnownHostsFile=/keys/known", "IdentitiesOnly=yes"] {
            #expect(argv.contains(expected), "\(expected)")
        }
        #expect(argv.suffix(8).prefix(6) == ["--", "vmm01.contoso.com", "powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive"])
        #expect(argv[argv.count - 2] == "-EncodedCommand")
        #expect(argv.firstIndex(of: "-i").map { argv[$0 + 1] } == "/keys/id")
        #expect(argv.firstIndex(of: "-p").map { argv[$0 + 1] } == "2222")
        #expect(argv.firstIndex(of: "-l").map { argv[$0 + 1] } == "svc")
        #expect(call.script == script.text)
        #expect(!call.viaStdin)
    }

    @Test func passwordComesFromTheFileThroughAskPassOnly() async throws {
        let fake = try FakeSSH([.on("Get-Thing", reply: "vmm/clusters.json")])
        let secret = fake.directory.appendingPathComponent("password")
        try Data("S3cr3t 'pa$$ word\nsecond line ignored\n".utf8).write(to: secret)
        var target = SSHTarget.test()
        target.identityFile = nil
        target.passwordFile = secret.path
        _ = try await fake.runner(target).run(script, operation: "test")
        let call = try #require(try fake.calls().first)
        #expect(call.askpassOutput == "S3cr3t 'pa$$ word\n")
        #expect(!call.argv.joined(separator: " ").contains("S3cr3t"))
        #expect(call.env["SSH_ASKPASS_REQUIRE"] == "force")
        #expect(call.env["PATCHFLEET_SSH_PASSWORD_FILE"] == secret.path)
        #expect(call.argv.contains("BatchMode=no") && call.argv.contains("NumberOfPasswordPrompts=1"))
    }

    @Test func longScriptsTravelOnStdin() async throws {
        let fake = try FakeSSH([.on("Get-Thing", reply: "vmm/clusters.json")])
        let long = PowerShellScript(body: "Get-Thing -Name " + PowerShellLiteral.quote(String(repeating: "ä", count: 6000)))
        _ = try await fake.runner().run(long, operation: "test")
        let call = try #require(try fake.calls().first)
        #expect(call.viaStdin)
        #expect(call.script == long.text)
    }

    @Test func backendErrorsKeepTheirMessage() async throws {
        let fake = try FakeSSH([.on("Get-Thing", reply: "vmm/error-carmine-801.json")])
        let error = await backendError { _ = try await fake.runner().run(script, operation: "Move-SCVirtualMachine") }
        #expect(error?.code == .notFound)
        #expect(error?.backendCode == "801")
        #expect(error?.message.hasPrefix("VMM cannot find the Virtual machine object.") == true)
    }

    @Test func numericCategoryAndErrorIdInMessage() async throws {
        let fake = try FakeSSH([.on("Get-Thing", reply: "vmm/error-carmine-1730-numeric-category.json")])
        let error = await backendError { _ = try await fake.runner().run(script, operation: "op") }
        #expect(error?.code == .invalidState)
        #expect(error?.backendCode == "1730")
    }

    @Test func missingModuleIsNotAnUnreachableHost() async throws {
        let fake = try FakeSSH([.on("Get-Thing", reply: "common/error-module-missing.json")])
        let error = await backendError { _ = try await fake.runner().run(script, operation: "op") }
        #expect(error?.code == .internalError)
        #expect(error?.message.contains("VirtualMachineManager") == true)
    }

    @Test func bannerBeforeTheReplyIsTolerated() async throws {
        let fake = try FakeSSH([.on("Get-Thing", reply: "common/banner-then-json.txt")])
        let reply = try await fake.runner().run(script, operation: "op")
        #expect(reply["name"].string == "CL44.contoso.com")
    }

    @Test func nonJSONOutputNamesTheHost() async throws {
        let fake = try FakeSSH([FakeSSH.Rule(match: ["Get-Thing"], reply: "common/not-json.txt", exit: 1)])
        let target = SSHTarget.test("vmm42.contoso.com")
        let error = await backendError { _ = try await fake.runner(target).run(script, operation: "Get-SCVMHost") }
        #expect(error?.code == .internalError)
        #expect(error?.message.contains("Get-SCVMHost on vmm42.contoso.com: output is not a PatchFleet JSON reply") == true)
        #expect(error?.message.contains("is not recognized") == true)
        #expect(error?.message.contains("exit status 1") == true)
    }

    @Test func emptyOutput() async throws {
        let fake = try FakeSSH([FakeSSH.Rule(match: ["Get-Thing"], reply: "common/empty.txt", exit: 1, stderr: "powershell crashed")])
        let error = await backendError { _ = try await fake.runner(.test("vmm43")).run(script, operation: "op") }
        #expect(error?.code == .internalError)
        #expect(error?.message == "op on vmm43: no output from PowerShell (stderr: powershell crashed; exit status 1)")
    }

    @Test func sshExit255IsUnreachable() async throws {
        let fake = try FakeSSH([FakeSSH.Rule(match: ["Get-Thing"], stdout: "", exit: 255,
                                             stderr: "ssh: connect to host vmm44 port 22: Connection refused\n")])
        let error = await backendError { _ = try await fake.runner(.test("vmm44")).run(script, operation: "Get-SCVMHost") }
        #expect(error?.code == .unreachable)
        #expect(error?.message == "Get-SCVMHost: cannot reach vmm44 over ssh: ssh: connect to host vmm44 port 22: Connection refused")
    }

    @Test func timeoutKillsTheProcessGroup() async throws {
        let fake = try FakeSSH([FakeSSH.Rule(match: ["Get-Thing"], reply: "vmm/clusters.json", sleep: 30)])
        // 5 s: long enough for the fake to start and log its pid even on a
        // loaded machine, far shorter than its 30 s sleep.
        let error = await backendError { _ = try await fake.runner(.test("vmm45")).run(script, operation: "Disable-SCVMHost", timeoutSeconds: 5) }
        #expect(error?.code == .timeout)
        #expect(error?.message == "Disable-SCVMHost on vmm45 timed out after 5 s (ssh killed)")
        // The runner reaps its child before returning: the fake ssh (asleep
        // for 30 s) must already be gone. Wall time would only measure load.
        let pid = try #require(try fake.calls().first?.pid)
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "the fake ssh (pid \(pid)) is still running")
    }

    @Test func outputCap() async throws {
        let fake = try FakeSSH([FakeSSH.Rule(match: ["Get-Thing"], stdout: String(repeating: "x", count: 300_000))])
        var target = SSHTarget.test()
        target.maxOutputBytes = 100_000
        let error = await backendError { _ = try await fake.runner(target).run(script, operation: "op") }
        #expect(error?.message.contains("reply larger than 100000 bytes") == true)
    }

    @Test func missingSSHBinary() async throws {
        let runner = PowerShellRunner(target: .test(), sshPath: "/nonexistent/ssh")
        let error = await backendError { _ = try await runner.run(script, operation: "op") }
        #expect(error?.code == .internalError)
        #expect(error?.message.contains("cannot start /nonexistent/ssh") == true)
    }

    @Test func concurrencyIsBoundedPerTarget() async throws {
        let fake = try FakeSSH([FakeSSH.Rule(match: ["Get-Thing"], reply: "vmm/clusters.json", sleep: 0.4)])
        let runner = fake.runner(.test(maxConcurrentCalls: 2))
        let started = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = try await runner.run(script, operation: "op") } }
            try await group.waitForAll()
        }
        // Four 0.4 s calls, two at a time: at least two rounds.
        #expect(Date().timeIntervalSince(started) >= 0.8)
        #expect(try fake.calls().count == 4)
    }

    @Test func cancellationKillsTheCall() async throws {
        let fake = try FakeSSH([FakeSSH.Rule(match: ["Get-Thing"], reply: "vmm/clusters.json", sleep: 30)])
        let runner = fake.runner()
        let task = Task { await backendError { _ = try await runner.run(script, operation: "op") } }
        // Cancel once the fake ssh is running (it logs, then sleeps 30 s).
        var waited = 0
        while try fake.calls().isEmpty, waited < 500 {
            try await Task.sleep(nanoseconds: 20_000_000)
            waited += 1
        }
        task.cancel()
        let error = await task.value
        #expect(error?.message.contains("cancelled") == true)
        // The runner reaps its child before returning: the fake ssh (asleep
        // for 30 s) must already be gone. Wall time would only measure load.
        let pid = try #require(try fake.calls().first?.pid)
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "the fake ssh (pid \(pid)) is still running")
    }
}
