import Foundation
import PatchFleetTestSupport
import Testing

/// `patchfleet demo` as the README's first command runs it: the lab, a
/// coordinator and workers as its child processes, the example job live.
@Suite("patchfleet demo", .timeLimit(.minutes(3)))
struct DemoCommandTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/examples")

    @Test func theDemoPatchesTheExampleDatacenterAndShowsEachRule() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("demo-test-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let demo = try ChildProcess(patchfleetExecutable(), [
            "demo", "--inventory", Self.examples.appendingPathComponent("inventory.yaml").path,
            "--job", Self.examples.appendingPathComponent("job.yaml").path, "--time-scale", "2000", "--run-directory", directory,
        ], log: "demo-test")
        let status = await demo.exitStatus()
        let output = demo.output()
        #expect(status == 1, "TYO-H2's install fails on purpose, so hosts are held: \(output)")
        let lines = output.split(separator: "\n")
        #expect(output.contains("fleet up: lab, coordinator and 3 workers as separate processes"))
        #expect(lines.contains { $0.contains("DUB-H2") && $0.contains("held") && $0.contains("Rule 1") }, "Rule 1")
        #expect(lines.contains { $0.contains("BRANCH-01") && $0.contains("standalone") }, "standalone host")
        #expect(lines.contains { $0.contains("test-sql") && $0.contains("(move)") && $0.contains("now on SEA-H2") },
                "Rule 2 (stopped HA VM moved off) and Rule 3 (moved home)")
        #expect(lines.contains { $0.contains("TYO-H2") && $0.contains("0x80070643") }, "the failing install")
        #expect(output.contains("hosts in maintenance now: TYO-H2"))
        // Every process it started stopped cleanly, and its fleet's store is where it said.
        #expect(!output.contains("exited with"), "\(output)")
        #expect(FileManager.default.fileExists(atPath: "\(directory)/coordinator.sqlite"))
        #expect(FileManager.default.fileExists(atPath: "\(directory)/lab.json"))
        // Not a terminal: plain lines, as a CI log wants them.
        #expect(!output.contains("\u{1B}"), "no escape codes through a pipe")

        // The coordinator wrote the run report at the job's end; `report` renders it again from the store.
        let reports = "\(directory)/coordinator.sqlite.reports/nov-2026-building-44"
        #expect(output.contains("run report (timeline, Gantt chart, VM moves): \(reports).html"))
        let written = try String(contentsOfFile: reports + ".html", encoding: .utf8)
        #expect(written.components(separatedBy: "<g class=\"row\" data-host=").count - 1 == 11, "a Gantt row per host")
        #expect(FileManager.default.fileExists(atPath: reports + ".json"))
        let file = "\(directory)/report.html"
        let said = try await runCommand([patchfleetExecutable(), "report", "nov-2026-building-44", "--store", "\(directory)/coordinator.sqlite",
                                         "--output", file])
        #expect(said.contains("html report of job nov-2026-building-44 written to \(file)"))
        let html = try String(contentsOfFile: file, encoding: .utf8)
        for host in ["SEA-H1", "SEA-H2", "SEA-H3", "SEA-H4", "DUB-H1", "DUB-H2", "DUB-H3", "TYO-H1", "TYO-H2", "TYO-H3", "BRANCH-01"] {
            #expect(html.contains("data-host=\"\(host)\""), "\(host)")
        }
        #expect(html.contains("<td>test-sql</td><td>SEA-H2</td>"), "Rule 2's move out, with its home for Rule 3")
        #expect(html.contains("Rule 1: non-highly-available VM(s) running: legacy-erp"))
        #expect(html.contains("class=\"held-tail\""), "TYO-H2 left in maintenance")
        let markdown = try await runCommand([patchfleetExecutable(), "report", "nov-2026-building-44", "--format", "markdown",
                                             "--store", "\(directory)/coordinator.sqlite"])
        #expect(markdown.hasPrefix("# Patch run `nov-2026-building-44`"))
        do {
            _ = try await runCommand([patchfleetExecutable(), "report", "no-such-job", "--store", "\(directory)/coordinator.sqlite"])
            Issue.record("a report of a job that does not exist succeeded")
        } catch let failure as CommandFailed {
            #expect(failure.description.contains("there is no job 'no-such-job'"))
        }
    }

    /// On a terminal (a pseudo-terminal from util-linux's `script`), `submit`
    /// (here through the demo) draws a bar per cluster, redrawn in place.
    @Test func onATerminalTheJobIsFollowedWithProgressBars() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("demo-tty-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let command = [patchfleetExecutable(), "demo", "--inventory", Self.examples.appendingPathComponent("inventory.yaml").path,
                       "--job", Self.examples.appendingPathComponent("job.yaml").path, "--time-scale", "2000",
                       "--run-directory", directory].joined(separator: " ")
        let demo = try ChildProcess("/usr/bin/script", ["-qfec", command, "/dev/null"], log: "demo-tty",
                                    environment: ["COLUMNS": "120", "TERM": "xterm", "NO_COLOR": ""])
        #expect(await demo.exitStatus() == 1)
        let screen = demo.output()
        #expect(screen.contains("\u{1B}[J"), "redrawn in place")
        #expect(screen.contains("\u{1B}[32m█"), "coloured bars")
        let lines = screen.components(separatedBy: "\r\n")
        for cluster in ["Seattle", "Dublin", "Tokyo", "standalone"] {
            #expect(lines.contains { $0.hasPrefix(cluster) && $0.contains("[") && $0.contains("█") }, "\(cluster)'s bar")
        }
        #expect(lines.contains { $0.contains("Seattle") && $0.contains("4/4") && $0.contains("done") })
        #expect(lines.contains { $0.contains("Tokyo") && $0.contains("3/3") && $0.contains("1 held") })
        #expect(lines.contains { $0.contains("SEA-H") && $0.contains("draining") }, "the host in flight and its step")
        #expect(screen.contains("11/11 hosts done"))
        #expect(screen.contains("Per-host outcome"))
    }
}
