import Testing
import PatchFleetCore
@testable import PatchFleetSimulator

/// The checker flags each violation from a hand-made history.
@Suite struct InvariantCheckerTests {
    static let t0 = DatacenterModelTests.t0

    static func record(_ seq: Int, _ actor: HistoryActor, _ change: HistoryChange) -> HistoryRecord {
        HistoryRecord(seq: seq, at: t0.adding(seconds: Double(seq)), actor: actor, change: change)
    }

    static func check(_ history: [HistoryRecord], policy: Policy = Policy(), report: JobReport = JobReport(jobId: "j", sagas: []),
                      final: Inventory? = nil) -> Set<Invariant> {
        let initial = DatacenterModelTests.inventory()
        return Set(InvariantChecker(policy: policy).check(initial: initial, history: history, final: final ?? initial, report: report).map(\.invariant))
    }

    @Test func flagsTwoHostsOfAClusterOutAtOnce() {
        var inventory = DatacenterModelTests.inventory()
        inventory.vms = []
        let history = [Self.record(0, .patchfleet, .hostStatus(host: "H2", from: .up, to: .maintenance)),
                       Self.record(1, .patchfleet, .hostStatus(host: "H3", from: .up, to: .maintenance))]
        let found = Set(InvariantChecker(policy: Policy()).check(initial: inventory, history: history, final: inventory,
                                                                 report: JobReport(jobId: "j", sagas: [])).map(\.invariant))
        #expect(found.contains(.clusterUnavailabilityLimit))
    }

    @Test func flagsRebootWithRunningVMs() {
        #expect(Self.check([Self.record(0, .patchfleet, .rebootRequested(host: "H1", runningVMs: ["small"]))]).contains(.rebootWithRunningVMs))
    }

    @Test func flagsEndingAMaintenanceWeDidNotStart() {
        let history = [Self.record(0, .external, .hostStatus(host: "H2", from: .up, to: .maintenance)),
                       Self.record(1, .patchfleet, .hostStatus(host: "H2", from: .maintenance, to: .up))]
        #expect(Self.check(history).contains(.endedForeignMaintenance))
    }

    @Test func flagsVMSentToAHostInMaintenance() {
        let history = [Self.record(0, .patchfleet, .hostStatus(host: "H2", from: .up, to: .maintenance)),
                       Self.record(1, .patchfleet, .migrationRequested(vm: "small", from: "H1", to: "H2", method: "live"))]
        #expect(Self.check(history).contains(.vmSentToUnavailableHost))
    }

    @Test func flagsDrainWithoutCapacity() {
        // H1 runs 36 GB; with H2 already ours, only H3 (16 GB) could take them.
        var policy = Policy()
        policy.maxUnavailablePerCluster = 2
        let history = [Self.record(0, .patchfleet, .hostStatus(host: "H2", from: .up, to: .maintenance)),
                       Self.record(1, .patchfleet, .hostStatus(host: "H1", from: .up, to: .maintenance))]
        #expect(Self.check(history, policy: policy).contains(.drainWithoutCapacity))
    }

    @Test func flagsVMLeftOffWithoutAReportLine() {
        var final = DatacenterModelTests.inventory()
        final.vms[0].power = .saved
        let history = [Self.record(0, .patchfleet, .vmPower(vm: "small", host: "H1", from: .running, to: .saved))]
        #expect(Self.check(history, final: final).contains(.vmLeftOffUnreported))
    }

    @Test func flagsHostLeftInOurMaintenanceWithoutAReason() {
        var inventory = DatacenterModelTests.inventory()
        inventory.vms = []
        let history = [Self.record(0, .patchfleet, .hostStatus(host: "H3", from: .up, to: .maintenance))]
        let found = InvariantChecker(policy: Policy()).check(initial: inventory, history: history, final: inventory,
                                                             report: JobReport(jobId: "j", sagas: [])).map(\.invariant)
        #expect(found.contains(.hostLeftInMaintenanceWithoutReason))
    }

    @Test func externalChangesAreNotBlamedOnPatchFleet() {
        let history = [Self.record(0, .external, .vmDeleted(vm: "small", host: "H1")),
                       Self.record(1, .external, .vmMoved(vm: "large", from: "H1", to: "H2", method: "external"))]
        var final = DatacenterModelTests.inventory()
        final.vms.removeAll { $0.name == "small" }
        final.vms[0].host = "H2"
        #expect(Self.check(history, final: final).isEmpty)
    }
}
