import PatchFleetCore
import PatchFleetSimulator
import PatchFleetTestSupport
import Testing
@testable import PatchFleetWorker

/// The executor against the simulated datacenter (its async backend path on
/// a virtual clock), and against the simulator's own model-level worker.
@Suite struct CommandExecutorTests {
    static let start = Instant(secondsSinceEpoch: 1_800_000_000)

    static let lab = LabConfiguration(inventory: Inventory(
        clusters: [Cluster(name: "C")],
        hosts: [Host(name: "H1", cluster: "C", memoryMB: 65536), Host(name: "H2", cluster: "C", memoryMB: 65536),
                Host(name: "H3", cluster: "C", memoryMB: 65536)],
        vms: [VM(name: "web", memoryMB: 8192, host: "H1"), VM(name: "db", memoryMB: 16384, host: "H1"),
              VM(name: "cold", memoryMB: 4096, power: .stopped, host: "H1")],
        collections: [DeviceCollection(name: "Hosts", members: ["H1", "H2", "H3"])],
        updateLists: [UpdateList(name: "Nov", updateIds: ["KB1", "KB2"])]))

    static func datacenter() -> SimulatedDatacenter {
        SimulatedDatacenter(configuration: lab, clock: VirtualClock(start: start))
    }

    /// Polls and timeouts on the datacenter's virtual clock: waiting moves it.
    static func executor(_ dc: SimulatedDatacenter) -> CommandExecutor {
        let clock = dc.clock as! VirtualClock
        let timing = ExecutorTiming(now: { clock.now().secondsSinceEpoch },
                                    sleep: { clock.advance(to: clock.now().adding(seconds: $0)) }, pollSeconds: 30)
        return CommandExecutor(virtualization: dc, updates: dc, timing: timing)
    }

    static func command(_ body: CommandBody, version: Int = 1) -> SagaCommand {
        SagaCommand(sagaId: "job:H1", jobId: "job", host: "H1", cluster: "C", sagaVersion: version, issuedAt: start, body: body)
    }

    /// One host's patch cycle, with redeliveries mixed in.
    static let cycle: [CommandBody] = [
        .observeCluster(HostRef(host: "H1")),
        .vmAction(VMActionRequest(host: "H1", vm: "web", action: VMAction(.liveMigrate, to: "H2"), timeoutSeconds: 600)),
        .vmAction(VMActionRequest(host: "H1", vm: "web", action: VMAction(.liveMigrate, to: "H2"), timeoutSeconds: 600)),
        .vmAction(VMActionRequest(host: "H1", vm: "db", action: VMAction(.liveMigrate, to: "H3"), timeoutSeconds: 600)),
        .vmAction(VMActionRequest(host: "H1", vm: "cold", action: VMAction(.moveStopped, to: "H2"), timeoutSeconds: 600)),
        .enterMaintenance(MaintenanceRequest(host: "H1")),
        .enterMaintenance(MaintenanceRequest(host: "H1")),
        .deployUpdates(DeployRequest(host: "H1", collection: "Patch Tuesday", updateIds: ["KB1", "KB2"])),
        .deployUpdates(DeployRequest(host: "H1", collection: "Patch Tuesday", updateIds: ["KB1", "KB2"])),
        .pollCompliance(ComplianceRequest(host: "H1", updateIds: ["KB1", "KB2"])),
        .rebootHost(HostRef(host: "H1")),
        .waitForHost(WaitForHostRequest(host: "H1", timeoutSeconds: 3600)),
        .pollCompliance(ComplianceRequest(host: "H1", updateIds: ["KB1", "KB2"])),
        .exitMaintenance(HostRef(host: "H1")),
        .exitMaintenance(HostRef(host: "H1")),
        .checkHealth(HostRef(host: "H1")),
        .failbackVM(FailbackRequest(vm: "web", expectedHost: "H2", home: "H1", timeoutSeconds: 600)),
        .failbackVM(FailbackRequest(vm: "web", expectedHost: "H2", home: "H1", timeoutSeconds: 600)),
        .failbackVM(FailbackRequest(vm: "db", expectedHost: "H2", home: "H1", timeoutSeconds: 600)),
        .failbackVM(FailbackRequest(vm: "ghost", expectedHost: "H2", home: "H1", timeoutSeconds: 600)),
    ]

    @Test func answersLikeTheSimulatorsOwnWorkerThroughAWholeCycle() async throws {
        let model = Self.datacenter(), viaBackends = Self.datacenter()
        let executor = Self.executor(viaBackends)
        var now = Self.start
        var answers: [EventBody] = []
        let backendClock = viaBackends.clock as! VirtualClock
        for (i, body) in Self.cycle.enumerated() {
            let command = Self.command(body, version: i + 1)
            while true {
                let (at, expected) = model.perform(command, at: now)
                now = max(now, at)
                model.advance(to: now)
                let actual = await executor.execute(command)
                #expect(actual == expected, "step \(i) \(body.kind): executor \(actual) vs simulator \(expected)")
                answers.append(actual)
                // Not back from the reboot yet: look again a minute later, as the saga's timer would.
                guard case .hostNotBack = actual else { break }
                now = now.adding(seconds: 60)
                model.advance(to: now)
                backendClock.advance(to: now)
            }
        }
        // The cycle really went through: no step failed, and failback took each path.
        #expect(!answers.contains { if case .commandFailed = $0 { true } else { false } }, "\(answers)")
        #expect(answers.contains(.rebootIssued) && answers.contains(.hostAnswered) && answers.contains(.updatesDeployed))
        #expect(answers.contains { if case .hostNotBack = $0 { true } else { false } }, "the first look after the reboot finds it rebooting")
        let failbacks = answers.compactMap { if case .failbackFinished(let o) = $0 { o.result } else { nil } }
        #expect(failbacks == [.movedHome, .alreadyHome, .movedByOthers, .deleted])
        // Both datacenters end in the same place.
        #expect(viaBackends.inventory.vms.sorted { $0.name < $1.name } == model.inventory.vms.sorted { $0.name < $1.name })
        #expect(viaBackends.inventory.hosts == model.inventory.hosts)
    }

    @Test func redeliveredCommandsDoNotActTwice() async throws {
        let dc = Self.datacenter()
        let executor = Self.executor(dc)
        let enter = Self.command(.enterMaintenance(MaintenanceRequest(host: "H2")))
        #expect(await executor.execute(enter) == .maintenanceEntered)
        #expect(await executor.execute(enter) == .maintenanceEntered)
        let changes = dc.history.filter { if case .hostStatus(host: "H2", _, to: .maintenance) = $0.change { true } else { false } }
        #expect(changes.count == 1)
    }

    @Test func neverRebootsAHostThatRunsVMs() async throws {
        let dc = Self.datacenter()
        let answer = await Self.executor(dc).execute(Self.command(.rebootHost(HostRef(host: "H1"))))
        guard case .commandFailed(let failure) = answer else { Issue.record("reboot went ahead: \(answer)"); return }
        #expect(failure.error.code == .invalidState)
        #expect(failure.error.message.contains("db") && failure.error.message.contains("web"))
        #expect(!dc.history.contains { if case .rebootRequested = $0.change { true } else { false } })
    }

    @Test func aPlannedTargetThatLeftServiceIsReplaced() async throws {
        let dc = Self.datacenter()
        try await dc.enterMaintenance(host: "H2", migrateRunningVMs: false)
        let request = VMActionRequest(host: "H1", vm: "web", action: VMAction(.liveMigrate, to: "H2"), timeoutSeconds: 600)
        let answer = await Self.executor(dc).execute(Self.command(.vmAction(request)))
        #expect(answer == .vmActionSucceeded(VMActionSucceeded(vm: "web", action: VMAction(.liveMigrate, to: "H3"))))
        #expect(dc.inventory.vm(named: "web")?.host == "H3")
    }

    /// A redelivered migration whose first run chose another target (the
    /// planned one had left service) finds the VM on that peer: it was moved,
    /// and the answer says where, so Rule 3 brings it home. Both workers agree.
    @Test func aRedeliveredMigrationFindsTheVMOnAnotherPeerAndSaysWhere() async throws {
        let model = Self.datacenter(), viaBackends = Self.datacenter()
        for dc in [model, viaBackends] { try await dc.liveMigrate(vm: "web", to: "H3") }
        let command = Self.command(.vmAction(VMActionRequest(host: "H1", vm: "web", action: VMAction(.liveMigrate, to: "H2"),
                                                             timeoutSeconds: 600)))
        let expected = EventBody.vmActionSucceeded(VMActionSucceeded(vm: "web", action: VMAction(.liveMigrate, to: "H3")))
        #expect(await Self.executor(viaBackends).execute(command) == expected)
        #expect(model.perform(command, at: Self.start).answer == expected)
    }

    /// A paused VM holds its memory like a running one: saving it for the
    /// patch must save it, or the drain reports done with it still on the host.
    @Test func savingAPausedVMSavesIt() async throws {
        var lab = Self.lab
        lab.inventory.vms.append(VM(name: "frozen", memoryMB: 2048, power: .paused, highlyAvailable: false, host: "H1"))
        let model = SimulatedDatacenter(configuration: lab, clock: VirtualClock(start: Self.start))
        let viaBackends = SimulatedDatacenter(configuration: lab, clock: VirtualClock(start: Self.start))
        let command = Self.command(.vmAction(VMActionRequest(host: "H1", vm: "frozen", action: VMAction(.saveState), timeoutSeconds: 600)))
        let answer = await Self.executor(viaBackends).execute(command)
        #expect(answer == model.perform(command, at: Self.start).answer)
        (viaBackends.clock as! VirtualClock).advance(to: Self.start.adding(seconds: 600))
        viaBackends.advance(to: Self.start.adding(seconds: 600))
        #expect(viaBackends.inventory.vm(named: "frozen")?.power == .saved)
    }

    /// Right after a restart request the host still answers, its restart
    /// pending: the look says so instead of "back" (the saga waits for it
    /// to go down).
    @Test func aHostStillPendingItsRestartIsNotBack() async throws {
        struct RestartNotBegun: ForwardingUpdateBackend {
            let base: any UpdateBackend
            func pendingReboot(host: String) async throws(BackendError) -> Bool { true }
        }
        let dc = Self.datacenter()
        let executor = CommandExecutor(virtualization: dc, updates: RestartNotBegun(base: dc), timing: Self.executor(dc).timing)
        let answer = await executor.execute(Self.command(.waitForHost(WaitForHostRequest(host: "H2", timeoutSeconds: 600))))
        #expect(answer == .hostNotBack(HostNotBack(detail: "host 'H2' answers and still reports a restart pending", reading: .restartPending)))
        #expect(await Self.executor(dc).execute(Self.command(.waitForHost(WaitForHostRequest(host: "H2", timeoutSeconds: 600)))) == .hostAnswered)
        // An older coordinator's saga does not ask for the reading: answering is back, as it was.
        let older = Self.command(.waitForHost(WaitForHostRequest(host: "H2", timeoutSeconds: 600, wantsReading: nil)))
        #expect(await executor.execute(older) == .hostAnswered)
        #expect(dc.perform(older, at: Self.start).answer == .hostAnswered)
    }

    @Test func backendFailuresKeepTheBackendsMessage() async throws {
        let answer = await Self.executor(Self.datacenter()).execute(Self.command(.enterMaintenance(MaintenanceRequest(host: "NOPE"))))
        guard case .commandFailed(let failure) = answer else { Issue.record("unexpected \(answer)"); return }
        #expect(failure.step == .enterMaintenance)
        #expect(failure.error.code == .notFound)
        #expect(failure.error.message.contains("NOPE"))
    }

    @Test func theCoordinatorsTimersAreNotWorkerTasks() async throws {
        let answer = await Self.executor(Self.datacenter()).execute(
            Self.command(.wakeAt(WakeRequest(at: Self.start, purpose: "poll"))))
        guard case .commandFailed(let failure) = answer else { Issue.record("unexpected \(answer)"); return }
        #expect(failure.error.code == .internalError)
    }
}
