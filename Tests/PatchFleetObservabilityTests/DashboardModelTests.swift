import Foundation
import PatchFleetCore
import PatchFleetDashboard
import PatchFleetSimulator
import PatchFleetStore
import Testing

/// The dashboard's view of the example job, run to its end on the
/// in-process simulator: every rule of the design shows up where a person
/// looks for it.
@Suite("Dashboard model")
struct DashboardModelTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/examples")

    static func exampleRun() throws -> (JobRecord, SimulationRun) {
        let lab = try LabConfiguration.load(contentsOf: Self.examples.appendingPathComponent("inventory.yaml"))
        let spec = try JobSpecLoader.load(contentsOf: Self.examples.appendingPathComponent("job.yaml"))
        let run = SimulationDriver(scenario: SimulationScenario(seed: lab.seed, lab: lab, job: spec)).run()
        return (JobRecord(spec: spec, state: .finished, submittedAt: run.startedAt, updatedAt: run.endedAt), run)
    }

    @Test func theExampleJobShowsEachRuleWhereAPersonLooks() throws {
        let (record, run) = try Self.exampleRun()
        let view = DashboardModel.job(record, sagas: run.sagas, now: run.endedAt)
        #expect(view.summary.hosts == run.sagas.count)
        #expect(view.summary.counts.values.reduce(0, +) == run.sagas.count, "every host counted once")
        #expect(view.summary.counts["patched"] == run.report.count(.patched))
        #expect(DashboardModel.summary(record, report: run.report) == view.summary,
                "a finished job's line from its report says what its sagas say")
        // Clusters sorted by name, standalone hosts last.
        #expect(view.clusters.last?.name == DashboardModel.standaloneGroup)
        #expect(view.clusters.dropLast().map(\.name) == view.clusters.dropLast().map(\.name).sorted())

        let attention = Dictionary(uniqueKeysWithValues: view.attention.map { ($0.host, $0) })
        let rule1 = try #require(attention["DUB-H2"], "Rule 1 holds DUB-H2")
        #expect(rule1.reason.contains("legacy-erp") && rule1.action.hasPrefix("Rule 1"))
        #expect(!rule1.inMaintenance)
        let standalone = try #require(attention["BRANCH-01"])
        #expect(standalone.action.hasPrefix("Standalone host"))
        let failed = try #require(attention["TYO-H2"], "the failing install")
        #expect(failed.inMaintenance && failed.action.contains("Enable-SCVMHost"))
        #expect(failed.reason.contains("0x80070643"))
        let tokyo = try #require(view.clusters.first { $0.name == "Tokyo" }?.hosts.first { $0.host == "TYO-H2" })
        #expect(tokyo.vmsMovedBack == 0, "held in maintenance: its VMs stay away until a person resumes it")
        #expect(attention["SEA-H1"] == nil, "a patched host needs nothing")

        // Rule 2 and 3: SEA-H2's VMs (test-sql among them) went out and came back.
        let seattle = try #require(view.clusters.first { $0.hosts.contains { $0.host == "SEA-H2" } })
        let sea2 = try #require(seattle.hosts.first { $0.host == "SEA-H2" })
        #expect(sea2.outcome == "patched")
        #expect(sea2.vmsMovedOut >= 1 && sea2.vmsMovedBack == sea2.vmsMovedOut, "\(sea2)")
        #expect((sea2.elapsedSeconds ?? 0) > 0)
    }

    @Test func aRunningJobCountsActiveAndPendingHosts() throws {
        let (record, run) = try Self.exampleRun()
        // The same job as it stood before anything started.
        let fresh = run.sagas.map { saga in
            HostSagaState(jobId: saga.jobId, target: TargetHost(host: saga.host, cluster: saga.cluster), policy: saga.policy,
                          updateIds: saga.updateIds, deploymentCollection: saga.deploymentCollection)
        }
        var running = record
        running.state = .running
        let summary = DashboardModel.summary(running, sagas: fresh)
        #expect(summary.counts["pending"] == fresh.count)
        #expect(summary.counts["patched"] == 0 && summary.counts["active"] == 0)
        let view = DashboardModel.job(running, sagas: fresh, now: run.startedAt)
        #expect(view.attention.isEmpty)
        #expect(view.clusters.allSatisfy { $0.finished == 0 && $0.active == 0 })
    }
}
