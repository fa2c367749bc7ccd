import Foundation
import Testing
import PatchFleetCore
@testable import PatchFleetSimulator

/// The simulated datacenter's own rules, durations, faults and history.
@Suite struct DatacenterModelTests {
    static let t0 = Instant(secondsSinceEpoch: 1_800_000_000)

    static func inventory() -> Inventory {
        Inventory(clusters: [Cluster(name: "C")],
                  hosts: [Host(name: "H1", cluster: "C", memoryMB: 65536), Host(name: "H2", cluster: "C", memoryMB: 65536),
                          Host(name: "H3", cluster: "C", memoryMB: 16384)],
                  vms: [VM(name: "small", memoryMB: 4096, host: "H1"), VM(name: "large", memoryMB: 32768, host: "H1"),
                        VM(name: "off", memoryMB: 8192, power: .stopped, host: "H1")])
    }

    static func model(faults: [Fault] = []) -> DatacenterModel {
        DatacenterModel(inventory: inventory(), faults: faults, seed: 7, start: t0)
    }

    @Test func liveMigrationTimeIsProportionalToMemory() {
        var durations = SimulatedDurations()
        durations.callLatencySeconds = 0
        durations.migrationOverheadSeconds = 0
        var model = DatacenterModel(inventory: Self.inventory(), durations: durations, seed: 7, start: Self.t0)
        let small = model.migrate(vm: "small", to: "H2", quick: false, timeoutSeconds: nil, at: Self.t0)
        let large = model.migrate(vm: "large", to: "H2", quick: false, timeoutSeconds: nil, at: Self.t0)
        let ratio = large.at.seconds(since: Self.t0) / small.at.seconds(since: Self.t0)
        #expect(ratio > 8 * 0.8 / 1.2 && ratio < 8 * 1.2 / 0.8, "8x the memory, 8x the time (within jitter)")
        // The VM moves when the migration completes, not when it is asked.
        #expect(model.inventory.vm(named: "large")?.host == "H1")
        model.advance(to: large.at)
        #expect(model.inventory.vm(named: "large")?.host == "H2")
    }

    @Test func timeScaleShrinksEveryDuration() {
        var scaled = SimulatedDurations()
        scaled.timeScale = 1.0 / 60
        var fast = DatacenterModel(inventory: Self.inventory(), durations: scaled, seed: 7, start: Self.t0)
        var real = Self.model()
        let a = fast.migrate(vm: "large", to: "H2", quick: false, timeoutSeconds: nil, at: Self.t0).at.seconds(since: Self.t0)
        let b = real.migrate(vm: "large", to: "H2", quick: false, timeoutSeconds: nil, at: Self.t0).at.seconds(since: Self.t0)
        #expect(abs(a * 60 - b) < 0.001)
    }

    @Test func memoryAccountingRefusesOvercommitIncludingMigrationsInFlight() {
        var model = Self.model()
        let first = model.migrate(vm: "small", to: "H3", quick: false, timeoutSeconds: nil, at: Self.t0)
        #expect((try? first.result.get()) != nil)
        let second = model.migrate(vm: "large", to: "H3", quick: false, timeoutSeconds: nil, at: Self.t0)
        guard case .failure(let error) = second.result else {
            Issue.record("a 32 GB VM must not fit on a 16 GB host")
            return
        }
        #expect(error.code == .insufficientCapacity)
        #expect(error.message.contains("H3"))
    }

    @Test func rebootIsRefusedWhileVMsRunAndTheAttemptIsRecorded() {
        var model = Self.model()
        let ticket = model.reboot(host: "H1", at: Self.t0)
        guard case .failure(let error) = ticket.result else {
            Issue.record("reboot with running VMs must be refused")
            return
        }
        #expect(error.code == .invalidState)
        #expect(model.history.contains { $0.change == .rebootRequested(host: "H1", runningVMs: ["large", "small"]) })
    }

    @Test func vmInTheMiddleOfAMigrationIsLocked() {
        var model = Self.model()
        let first = model.migrate(vm: "large", to: "H2", quick: false, timeoutSeconds: nil, at: Self.t0)
        let second = model.migrate(vm: "large", to: "H3", quick: false, timeoutSeconds: nil, at: Self.t0)
        guard case .failure(let error) = second.result else {
            Issue.record("a VM being migrated cannot be migrated again")
            return
        }
        #expect(error.code == .conflict)
        model.advance(to: first.at)
        #expect(model.inventory.vm(named: "large")?.host == "H2")
    }

    @Test func targetInMaintenanceIsRefused() {
        var model = Self.model()
        _ = model.enterMaintenance(host: "H2", migrateRunningVMs: false, at: Self.t0)
        let ticket = model.migrate(vm: "small", to: "H2", quick: false, timeoutSeconds: nil, at: Self.t0)
        guard case .failure(let error) = ticket.result else {
            Issue.record("a host in maintenance cannot receive VMs")
            return
        }
        #expect(error.message.contains("maintenance"))
    }

    @Test func installFaultReturnsItsErrorCodeThroughCompliance() {
        var model = Self.model(faults: [Fault(.installFails, host: "H3", code: "0x80070643", message: "Fatal error during installation")])
        let trigger = model.triggerInstall(host: "H3", updateIds: ["KB1", "KB2"], at: Self.t0)
        #expect((try? trigger.result.get()) != nil)
        model.advance(to: Self.t0.adding(seconds: 3601 * 1.0))
        let report = try? model.compliance(host: "H3", updateIds: ["KB1", "KB2"], at: model.now).result.get()
        #expect(report?.failed.first?.code == "0x80070643")
        #expect(report?.failed.first?.message == "Fatal error during installation")
    }

    @Test func aHostThatDoesNotReturnIsNeverFoundBack() throws {
        var model = Self.model(faults: [Fault(.hostDoesNotReturn, host: "H3")])
        _ = model.reboot(host: "H3", at: Self.t0)
        let first = model.lookForHost("H3", at: Self.t0)
        #expect(first.at == Self.t0, "a look is answered at once")
        #expect(try first.result.get()?.detail == "host 'H3' is rebooting")
        let later = model.lookForHost("H3", at: Self.t0.adding(seconds: 7_200))
        #expect(try later.result.get()?.detail == "host 'H3' is down")
        #expect(model.inventory.host(named: "H3")?.status == .down)
    }

    @Test func aHostBackFromItsRebootIsFoundBack() throws {
        var model = Self.model()
        _ = model.reboot(host: "H3", at: Self.t0)
        #expect(try model.lookForHost("H3", at: Self.t0).result.get() != nil, "still rebooting")
        let back = model.lookForHost("H3", at: Self.t0.adding(seconds: 7_200))
        #expect(try back.result.get() == nil)
    }

    @Test func hostStuckInPendingRebootStaysPending() {
        var durations = SimulatedDurations()
        durations.pendingRebootProbability = 1
        var model = DatacenterModel(inventory: Self.inventory(), faults: [Fault(.stuckPendingReboot, host: "H3")],
                                    durations: durations, seed: 1, start: Self.t0)
        _ = model.triggerInstall(host: "H3", updateIds: ["KB1"], at: Self.t0)
        model.advance(to: Self.t0.adding(seconds: 4000))
        _ = model.reboot(host: "H3", at: model.now)
        model.advance(to: model.now.adding(seconds: 700))
        #expect(model.inventory.host(named: "H3")?.status == .up)
        #expect((try? model.isPendingReboot(host: "H3", at: model.now).result.get()) == true)
    }

    @Test func othersMoveAndDeleteVMsMidRun() {
        var model = Self.model(faults: [Fault(.vmMovedByOthers, vm: "small", to: "H2", atSeconds: 100),
                                        Fault(.vmDeleted, vm: "off", atSeconds: 200)])
        model.advance(to: Self.t0.adding(seconds: 250))
        #expect(model.inventory.vm(named: "small")?.host == "H2")
        #expect(model.inventory.vm(named: "off") == nil)
        #expect(model.history.filter { $0.actor == .external }.count == 2)
    }

    @Test func backendTimeoutAnswersLateAndDoesNothing() {
        var model = Self.model(faults: [Fault(.backendTimeout, host: "H2", times: 1)])
        let first = model.enterMaintenance(host: "H2", migrateRunningVMs: false, at: Self.t0)
        #expect(first.at.seconds(since: Self.t0) >= 120)
        #expect(model.inventory.host(named: "H2")?.status == .up)
        let second = model.enterMaintenance(host: "H2", migrateRunningVMs: false, at: first.at)
        #expect((try? second.result.get()) != nil)
        #expect(model.inventory.host(named: "H2")?.status == .maintenance)
    }

    @Test func lostAnswerTakesEffectButReportsATimeout() {
        var model = Self.model(faults: [Fault(.answerLost, host: "H2", times: 1)])
        let command = SagaCommand(sagaId: "j:H2", jobId: "j", host: "H2", cluster: "C", sagaVersion: 1,
                                  issuedAt: Self.t0, body: .enterMaintenance(MaintenanceRequest(host: "H2")))
        let (_, answer) = model.perform(command, at: Self.t0)
        guard case .commandFailed(let failure) = answer else {
            Issue.record("the caller must see a timeout")
            return
        }
        #expect(failure.error.code == .timeout)
        #expect(model.inventory.host(named: "H2")?.status == .maintenance, "but the action happened")
        let (_, retry) = model.perform(command, at: model.now)
        #expect(retry == .maintenanceEntered, "observe-then-act: asking again is harmless")
    }

    @Test func historyRecordsEveryStateChangeWithItsTime() throws {
        var model = Self.model()
        _ = model.enterMaintenance(host: "H2", migrateRunningVMs: false, at: Self.t0.adding(seconds: 5))
        _ = model.exitMaintenance(host: "H2", at: Self.t0.adding(seconds: 10))
        let changes = model.history.map(\.change)
        #expect(changes == [.hostStatus(host: "H2", from: .up, to: .maintenance), .hostStatus(host: "H2", from: .maintenance, to: .up)])
        #expect(model.history.map(\.at) == [Self.t0.adding(seconds: 5), Self.t0.adding(seconds: 10)])
        #expect(model.history.map(\.seq) == [0, 1])
    }
}

/// The async backend protocols, on virtual time.
@Suite struct SimulatedBackendTests {
    @Test func asyncBackendCallsTakeSimulatedTimeOnTheVirtualClock() async throws {
        let clock = VirtualClock(start: DatacenterModelTests.t0)
        let datacenter = SimulatedDatacenter(inventory: DatacenterModelTests.inventory(), seed: 3, clock: clock)
        let virtualization: any VirtualizationBackend = datacenter
        try await virtualization.liveMigrate(vm: "large", to: "H2")
        #expect(clock.now() > DatacenterModelTests.t0.adding(seconds: 20), "32 GB at ~1 GB/s takes virtual seconds")
        #expect(try await virtualization.listVMs(host: "H2").map(\.name) == ["large"])
        try await virtualization.enterMaintenance(host: "H1", migrateRunningVMs: true)
        #expect(try await virtualization.host(named: "H1").status == .maintenance)
        #expect(try await virtualization.listVMs(host: "H1").allSatisfy { !$0.power.consumesMemory })
    }

    @Test func backendErrorsKeepTheBackendsOwnMessage() async {
        let clock = VirtualClock(start: DatacenterModelTests.t0)
        let datacenter = SimulatedDatacenter(inventory: DatacenterModelTests.inventory(), seed: 3, clock: clock)
        let updates: any UpdateBackend = datacenter
        do {
            try await updates.reboot(host: "H1")
            Issue.record("rebooting a host with running VMs must throw")
        } catch {
            #expect(error.code == .invalidState)
            #expect(error.message.contains("still runs 2 virtual machine(s)"))
        }
    }

    @Test func updateBackendDeploysAndReportsCompliance() async throws {
        let clock = VirtualClock(start: DatacenterModelTests.t0)
        var durations = SimulatedDurations()
        durations.pendingRebootProbability = 0
        let datacenter = SimulatedDatacenter(inventory: DatacenterModelTests.inventory(), durations: durations, seed: 3, clock: clock)
        try await datacenter.ensureCollection("Patch")
        try await datacenter.addHost("H3", toCollection: "Patch")
        #expect(try await datacenter.collectionMembers("Patch") == ["H3"])
        try await datacenter.refreshPolicy(host: "H3")
        try await datacenter.triggerInstall(host: "H3", updateIds: ["KB1"])
        #expect(try await datacenter.compliance(host: "H3", updateIds: ["KB1"]).pending == ["KB1"])
        try await clock.sleep(until: clock.now().adding(seconds: 3700))
        let report = try await datacenter.compliance(host: "H3", updateIds: ["KB1"])
        #expect(report.installed == ["KB1"])
        #expect(try await datacenter.pendingReboot(host: "H3") == false)
    }

    @Test func snapshotJSONCarriesStateAndHistory() throws {
        let clock = VirtualClock(start: DatacenterModelTests.t0)
        let datacenter = SimulatedDatacenter(inventory: DatacenterModelTests.inventory(), seed: 3, clock: clock)
        let command = SagaCommand(sagaId: "j:H2", jobId: "j", host: "H2", cluster: "C", sagaVersion: 1,
                                  issuedAt: clock.now(), body: .enterMaintenance(MaintenanceRequest(host: "H2")))
        _ = datacenter.perform(command, at: clock.now())
        let snapshot = try JSONDecoder().decode(LabSnapshot.self, from: datacenter.snapshotJSON())
        #expect(snapshot.inventory.host(named: "H2")?.status == .maintenance)
        #expect(snapshot.history.count == 1)
    }
}
