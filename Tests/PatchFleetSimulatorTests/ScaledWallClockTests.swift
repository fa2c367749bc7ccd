import PatchFleetCore
import Testing
@testable import PatchFleetSimulator

@Suite struct ScaledWallClockTests {
    @Test func sleepingReachesTheDeadlineOnTheScaledClock() async throws {
        let start = Instant(secondsSinceEpoch: 1_800_000_000)
        let clock = ScaledWallClock(start: start, timeScale: 36_000)  // 10 virtual hours per second
        let deadline = start.adding(seconds: 1_800)  // half a virtual hour: ~50 ms of wall time
        try await clock.sleep(until: deadline)
        #expect(clock.now() >= deadline)
        #expect(clock.now() > start)
    }

    @Test func aDatacenterOnTheScaledClockCompletesOperations() async throws {
        let lab = LabConfiguration(inventory: Inventory(
            clusters: [Cluster(name: "C")],
            hosts: [Host(name: "H1", cluster: "C", memoryMB: 65536), Host(name: "H2", cluster: "C", memoryMB: 65536)],
            vms: [VM(name: "vm1", memoryMB: 4096, host: "H1")]))
        let dc = SimulatedDatacenter(configuration: lab, clock: ScaledWallClock(start: .epoch, timeScale: 100_000))
        try await dc.liveMigrate(vm: "vm1", to: "H2")
        #expect(dc.inventory.vm(named: "vm1")?.host == "H2")
        try await dc.enterMaintenance(host: "H1", migrateRunningVMs: false)
        #expect(try await dc.host(named: "H1").status == .maintenance)
    }
}
