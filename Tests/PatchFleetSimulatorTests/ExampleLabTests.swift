import Foundation
import Testing
import PatchFleetCore
@testable import PatchFleetSimulator

/// The shipped example lab and job, run end to end: each rule shows up.
@Suite struct ExampleLabTests {
    static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/examples")

    @Test func exampleLabShowsEachRuleAndKeepsEveryInvariant() throws {
        let lab = try LabConfiguration.load(contentsOf: Self.examples.appendingPathComponent("inventory.yaml"))
        #expect(lab.faults.map(\.kind) == [.installFails])
        let job = try JobSpecLoader.load(contentsOf: Self.examples.appendingPathComponent("job.yaml"))
        let run = SimulationDriver(scenario: SimulationScenario(seed: lab.seed, lab: lab, job: job)).run()
        let violations = InvariantChecker(policy: job.policy).check(run)
        #expect(violations.isEmpty, "\(violations)")
        let report = run.report

        #expect(report.host("DUB-H2")?.outcome?.kind == .held, "Rule 1: legacy-erp holds its host")
        #expect(report.host("DUB-H2")?.outcome?.reason?.contains("legacy-erp") == true)
        #expect(report.host("BRANCH-01")?.outcome?.kind == .held, "standalone hosts are held")
        #expect(report.host("SEA-H2")?.outcome?.kind == .patched)
        #expect(run.history.contains { if case .vmMoved(vm: "test-sql", from: "SEA-H2", _, _) = $0.change { true } else { false } },
                "Rule 2: the stopped HA VM was moved off")
        #expect(run.finalInventory.vm(named: "test-sql")?.host == "SEA-H2", "Rule 3: and moved back")
        #expect(run.finalInventory.vm(named: "sea-sql-01")?.host == "SEA-H2")
        let tokyo = try #require(report.host("TYO-H2")?.outcome)
        #expect(tokyo.kind == .held)
        #expect(tokyo.inMaintenance)
        #expect(tokyo.reason?.contains("0x80070643") == true, "the backend's own error code reaches the report")
        #expect(report.isComplete)
    }
}
