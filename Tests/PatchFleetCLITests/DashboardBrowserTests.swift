import Foundation
import PatchFleetTestSupport
import Testing

/// The dashboard in a real browser (Debian's chromium, headless, driven over
/// the DevTools protocol by Fixtures/browse.py) during a real demo run, and
/// the coordinator's and a worker's /metrics scraped during and after it.
@Suite("Dashboard in a browser and metrics during a run", .timeLimit(.minutes(4)))
struct DashboardBrowserTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let examples = here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/examples")

    struct Sample: Decodable {
        struct Row: Decodable {
            var host: String
            var text: String
        }
        var loadId: String
        var live: String?
        var job: String?
        var state: String?
        var snapshots: Int
        var counts: String?
        var clusters: [String]
        var hosts: [Row]
        var attention: [Row]
        var dead: String?
    }

    static func curl(_ url: String) async throws -> String { try await runCommand(["curl", "-s", "--max-time", "10", url]) }

    /// The sum of a series' samples in a Prometheus text page (optionally with a label filter).
    static func total(_ metrics: String, _ name: String, where filter: String = "") -> Double {
        metrics.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .filter { filter.isEmpty || $0.contains(filter) }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    @Test func thePageFollowsTheDemoLiveAndShowsWhatAPersonNeeds() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dash-test-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = freeTCPPort()
        let base = "http://127.0.0.1:\(port)"
        let demo = try ChildProcess(patchfleetExecutable(), [
            "demo", "--inventory", Self.examples.appendingPathComponent("inventory.yaml").path,
            "--job", Self.examples.appendingPathComponent("job.yaml").path, "--time-scale", "150",
            "--http-address", "127.0.0.1:\(port)", "--linger", "120", "--run-directory", directory,
        ], log: "dashboard-demo")
        defer { demo.kill(SIGKILL) }
        var up = false
        for _ in 0..<600 where !up {
            up = demo.output().contains("submitted")
            if demo.hasExited { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try #require(up, "the demo did not get its job going: \(demo.output())")

        // While the job runs: the coordinator's gauges cover every host, a worker counts its tasks.
        let during = try await Self.curl(base + "/metrics")
        #expect(Self.total(during, "patchfleet_hosts") == 11, "hosts by phase add up to the job's 11 hosts")
        #expect(Self.total(during, "patchfleet_jobs", where: "state=\"running\"") == 1)
        #expect(during.contains("patchfleet_broker_reconnects_total 0"))
        #expect(try await Self.curl(base + "/readyz").hasPrefix("ready"))

        let shot = "\(directory)/dashboard.png"
        let browse = try ChildProcess("python3", [Self.here.appendingPathComponent("Fixtures/browse.py").path, base + "/",
                                                  "--seconds", "150", "--screenshot", shot], log: "browse")
        #expect(await browse.exitStatus() == 0, "\(browse.output())")
        let samples = browse.output().split(separator: "\n").compactMap {
            try? JSONDecoder().decode(Sample.self, from: Data($0.utf8))
        }.filter { $0.snapshots > 0 }
        let first = try #require(samples.first, "the page never received a snapshot: \(browse.output())")
        let last = try #require(samples.last)
        // Live: one page load, many pushed snapshots, from running to finished.
        #expect(Set(samples.map(\.loadId)).count == 1, "the page was never reloaded")
        #expect(first.state == "running" && last.state == "finished")
        #expect(last.snapshots > first.snapshots + 2, "snapshots \(first.snapshots) -> \(last.snapshots)")
        #expect(samples.allSatisfy { $0.live == "live" })
        #expect(samples.contains { $0.hosts.contains { $0.text.contains("draining") || $0.text.contains("polling") } },
                "a host seen mid-step")
        // What a person needs at the end: each cluster, each host, who needs attention and why.
        #expect(last.job == "nov-2026-building-44")
        #expect(last.clusters == ["Dublin", "Seattle", "Tokyo", "(standalone)"])
        #expect(last.hosts.count == 11)
        #expect(last.counts?.contains("patched 8") == true, "\(last.counts ?? "")")
        let attention = Dictionary(uniqueKeysWithValues: last.attention.map { ($0.host, $0.text) })
        #expect(attention["DUB-H2"]?.contains("legacy-erp") == true && attention["DUB-H2"]?.contains("What to do") == true)
        #expect(attention["TYO-H2"]?.contains("0x80070643") == true && attention["TYO-H2"]?.contains("Enable-SCVMHost") == true)
        #expect(attention["BRANCH-01"]?.contains("Standalone host") == true)
        #expect(last.hosts.first { $0.host == "SEA-H2" }?.text.contains("2 / 2") == true, "SEA-H2's VMs out and home (Rules 2 and 3)")
        #expect(last.dead?.contains("0 in the dead-letter queue") == true)
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "a real screenshot")

        // The page's "run report" link: the report of the job, Gantt chart included.
        let report = try await Self.curl(base + "/jobs/nov-2026-building-44/report")
        #expect(report.contains("<svg") && report.contains("TYO-H2") && report.contains("nov-2026-building-44"))

        // After the job: histograms and outcome counters with the job's numbers.
        let after = try await Self.curl(base + "/metrics")
        #expect(Self.total(after, "patchfleet_host_outcomes_total", where: "outcome=\"patched\"") == 8)
        #expect(Self.total(after, "patchfleet_host_outcomes_total", where: "outcome=\"held\"") == 3)
        #expect(Self.total(after, "patchfleet_saga_step_duration_seconds_count", where: "step=\"draining\"") >= 8)
        #expect(Self.total(after, "patchfleet_tasks_in_flight") == 0)
        let workerLog = try String(contentsOfFile: "\(directory)/worker-deploy-1.log", encoding: .utf8)
        let workerURL = try #require(workerLog.split(separator: "\n").first { $0.contains("metrics and probes on ") }?
            .components(separatedBy: "metrics and probes on ").last)
        let worker = try await Self.curl(workerURL.trimmingCharacters(in: .whitespaces) + "metrics")
        #expect(Self.total(worker, "patchfleet_worker_tasks_total", where: "command=\"deployUpdates\"") >= 8)
        #expect(Self.total(worker, "patchfleet_worker_task_duration_seconds_count") > 0)
        #expect(Self.total(worker, "patchfleet_worker_tasks_in_flight") == 0)

        demo.kill(SIGINT)
        #expect(await demo.exitStatus() == 130, "interrupted during --linger")
        #expect(!demo.output().contains("exited with"), "every process stopped cleanly: \(demo.output())")
    }
}
