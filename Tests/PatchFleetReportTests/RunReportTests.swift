import Foundation
import PatchFleetCore
@testable import PatchFleetReport
import PatchFleetStore
import Testing

/// The report of the example job, run by the simulator: what it says is
/// what the sagas did.
@Suite struct RunReportTests {
    @Test func theSagasRecordTheirTimelineInOrder() throws {
        let run = try ExampleRun.run()
        for saga in run.sagas {
            let timeline = try #require(saga.timeline, "\(saga.host): a new saga records a timeline")
            #expect(zip(timeline, timeline.dropFirst()).allSatisfy { $0.at <= $1.at }, "\(saga.host): in time order")
            #expect(timeline.last?.phase == .done && timeline.last?.at == saga.finishedAt, "\(saga.host) ends with its outcome")
            if let started = saga.startedAt {
                #expect(timeline.first == SagaTimelineEntry(at: started, phase: .prechecking, step: .observeCluster,
                                                            detail: "observe the cluster"))
            }
        }
        let sea2 = try #require(run.sagas.first { $0.host == "SEA-H2" })
        let vmSteps = (sea2.timeline ?? []).filter { $0.step == .vmAction || $0.step == .failbackVM }
        #expect(Set(vmSteps.compactMap(\.vm)) == ["sea-sql-01", "test-sql"], "each VM move is its own step")
        #expect(sea2.installedUpdates == sea2.updateIds)
        #expect(Set((sea2.returnedHome ?? []).map(\.vm)) == ["sea-sql-01", "test-sql"], "Rule 3: both back home")
    }

    @Test func theReportSaysWhatEachHostDid() throws {
        let (report, run) = try ExampleRun.report()
        #expect(report.hosts.count == run.sagas.count)
        #expect(report.clusters.map(\.name) == ["Dublin", "Seattle", "Tokyo", "Standalone hosts"])

        let sea2 = try #require(report.host("SEA-H2"))
        #expect(sea2.outcome == .patched)
        #expect(Set(sea2.movedOut.map(\.vm)) == ["sea-sql-01", "test-sql"])
        #expect(sea2.movedOut.allSatisfy { $0.home == "SEA-H2" && $0.movedTo.hasPrefix("SEA-") && $0.movedTo != "SEA-H2" })
        #expect(Set(sea2.movedBack.map(\.vm)) == ["sea-sql-01", "test-sql"])
        #expect(!sea2.updatesInstalled.isEmpty)
        #expect(sea2.updatesInstalled == sea2.updatesDeployed)

        let dub2 = try #require(report.host("DUB-H2"))
        #expect(dub2.outcome == .held && !dub2.leftInMaintenance)
        #expect(dub2.rules.contains { $0.contains("Rule 1") && $0.contains("legacy-erp") }, "\(dub2.rules)")
        #expect(dub2.movedOut.isEmpty && dub2.updatesInstalled.isEmpty)

        let tyo2 = try #require(report.host("TYO-H2"))
        #expect(tyo2.outcome == .held && tyo2.leftInMaintenance)
        #expect(tyo2.retries == 2)
        #expect(tyo2.steps.filter { $0.kind == .retry }.count == 2, "two retry waits on the timeline")
        #expect(tyo2.reason?.contains("0x80070643") == true)
        #expect(tyo2.movedOut.map(\.vm) == ["tyo-db-01"] && tyo2.movedBack.isEmpty)
        #expect(tyo2.whyNotBack("tyo-db-01") == "stays where the drain put it while the host is held in maintenance")
        #expect(sea2.whyNotBack("test-sql") == nil, "it is back")

        #expect(report.host("BRANCH-01")?.rules.contains { $0.contains("standalone host") } == true)
        #expect(report.totals.hosts == 11)
        #expect(report.totals.count(.patched) == run.report.count(.patched))
        #expect(report.totals.count(.held) == run.report.count(.held))
        #expect(report.totals.leftInMaintenance == 1)
        #expect(report.totals.vmsMovedOut == report.hosts.map(\.movedOut.count).reduce(0, +))
        #expect(report.totals.vmsMovedBack == report.totals.vmsMovedOut - 1, "all came home but TYO-H2's")
        #expect(report.totals.vmsNotMovedBack == 1)
        #expect(report.totals.reboots == run.sagas.map(\.reboots).reduce(0, +))
        #expect(report.startedAt == run.sagas.compactMap(\.startedAt).min())
        #expect(report.endedAt == run.sagas.compactMap(\.finishedAt).max())
    }

    @Test func stepDurationsTileEachHostsRun() throws {
        let (report, _) = try ExampleRun.report()
        for host in report.hosts where host.startedAt != nil {
            #expect(host.steps.first?.at == host.startedAt)
            #expect(host.steps.last?.endsAt == host.finishedAt)
            #expect(zip(host.steps, host.steps.dropFirst()).allSatisfy { $0.endsAt == $1.at }, "\(host.host): no gap, no overlap")
            let total = host.steps.map(\.durationSeconds).reduce(0, +)
            #expect(abs(total - (host.durationSeconds ?? -1)) < 0.001)
        }
    }

    @Test func jsonRoundTrips() throws {
        let (report, _) = try ExampleRun.report()
        let data = try report.json()
        #expect(try RunReport.decode(json: data) == report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["jobId"] as? String == "nov-2026-building-44")
        #expect((object["clusters"] as? [[String: Any]])?.count == 4)
    }

    @Test func markdownHasEveryHostAndTheRules() throws {
        let (report, _) = try ExampleRun.report()
        let markdown = report.markdown()
        for host in report.hosts { #expect(markdown.contains("### \(host.host)\n"), "\(host.host)") }
        #expect(markdown.contains("- sea-sql-01: SEA-H2 → "))
        #expect(markdown.contains("→ back on SEA-H2"))
        #expect(markdown.contains("Rule 1: non-highly-available VM(s) running: legacy-erp"))
        #expect(markdown.contains("| 11 | \(report.totals.count(.patched)) | 3 |"), "totals row")
    }

    /// A saga stored before timelines existed (no `timeline` key) still
    /// decodes, and the report says it has no timeline instead of inventing one.
    @Test func aSagaStoredBeforeTimelinesStillReports() throws {
        let (_, run) = try ExampleRun.report()
        let saga = try #require(run.sagas.first { $0.host == "SEA-H1" })
        var object = try #require(try JSONSerialization.jsonObject(with: WireCoding.encode(saga)) as? [String: Any])
        for key in ["timeline", "installedUpdates", "returnedHome"] { object[key] = nil }
        let old = try WireCoding.decode(HostSagaState.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.timeline == nil && old.returnedHome == nil)
        let (job, _) = ExampleRun.stored(run)
        let report = RunReport(job: job, sagas: [StoredSaga(state: old, version: 1, updatedAt: run.endedAt)])
        let host = try #require(report.host("SEA-H1"))
        #expect(!host.timelineRecorded)
        #expect(host.steps.map(\.kind) == [.unrecorded])
        #expect(report.html().contains("stored before timelines were recorded"))
    }
}

/// A job still running: the report so far, hosts in flight shown in their phase.
@Suite struct RunningJobReportTests {
    @Test func aRunningJobGetsItsReportSoFar() throws {
        let run = try ExampleRun.run()
        let start = run.startedAt
        let first = try #require(run.sagas.first { $0.host == "SEA-H1" })
        // A fresh saga of the same host, started and paused: in flight.
        var saga = HostSagaState(jobId: first.jobId, target: TargetHost(host: "SEA-H1", cluster: "Seattle"), policy: first.policy,
                                 updateIds: first.updateIds, deploymentCollection: first.deploymentCollection)
        (saga, _) = HostSaga.reduce(saga, .control(saga.sagaId, at: start, .start))
        (saga, _) = HostSaga.reduce(saga, .control(saga.sagaId, at: start.adding(seconds: 30), .pause))
        let pending = HostSagaState(jobId: first.jobId, target: TargetHost(host: "SEA-H2", cluster: "Seattle"), policy: first.policy,
                                    updateIds: first.updateIds, deploymentCollection: first.deploymentCollection)
        let job = JobRecord(spec: run.scenario.job, state: .running, submittedAt: start)
        let report = RunReport(job: job, sagas: [StoredSaga(state: saga, version: 2, updatedAt: start.adding(seconds: 90)),
                                                 StoredSaga(state: pending, version: 0, updatedAt: start)])
        #expect(report.totals.outcomes["inProgress"] == 2)
        let host = try #require(report.host("SEA-H1"))
        #expect(host.outcome == nil && host.phase == .prechecking)
        #expect(host.steps.map(\.detail) == ["observe the cluster", "job paused: the next step waits"])
        #expect(host.steps.last?.endsAt == start.adding(seconds: 90), "the last step runs to the last recorded change")
        #expect(report.host("SEA-H2")?.steps.isEmpty == true, "not started: no bar")
        let html = report.html()
        #expect(html.contains("in progress (prechecking)"))
        #expect(HTMLReportTests.rows(html).map(\.host) == ["SEA-H1", "SEA-H2"])
        #expect(report.endedAt == start.adding(seconds: 90))
    }

    @Test func aRetryWaitSaysWhatFailed() throws {
        let (report, _) = try ExampleRun.report()
        let retries = try #require(report.host("TYO-H2")).steps.filter { $0.kind == .retry }
        #expect(retries.compactMap(\.detail).map { String($0.prefix(12)) } == ["retry 1 of 2", "retry 2 of 2"])
        #expect(retries.allSatisfy { $0.detail?.contains("0x80070643") == true })
    }
}
