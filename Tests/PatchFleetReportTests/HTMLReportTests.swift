import Foundation
import PatchFleetCore
@testable import PatchFleetReport
import Testing

/// The HTML page: self-contained, every host, and a Gantt chart whose bars
/// are the hosts' steps in order.
@Suite struct HTMLReportTests {
    /// `<g class="row" data-host="X">…</g>` of every chart, in document order.
    static func rows(_ html: String) -> [(host: String, body: String)] {
        html.components(separatedBy: "<g class=\"row\" data-host=\"").dropFirst().map { chunk in
            let host = String(chunk.prefix { $0 != "\"" })
            return (host, String(chunk.components(separatedBy: "</g>")[0]))
        }
    }

    static func attribute(_ name: String, in text: String) -> [String] {
        text.components(separatedBy: " \(name)=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    @Test func isSelfContained() throws {
        let html = try ExampleRun.report().0.html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<style>"))
        #expect(!html.contains("<script"), "no script needed")
        #expect(!html.contains("<link"), "nothing fetched")
        #expect(!html.contains("src=\""), "nothing fetched")
        #expect(html.components(separatedBy: "<svg class=\"gantt\"").count - 1 == 4, "a chart per cluster and one for standalone hosts")
    }

    @Test func ganttBarsAreEachHostsStepsInOrder() throws {
        let (report, _) = try ExampleRun.report()
        let rows = Self.rows(report.html())
        #expect(rows.map(\.host) == report.clusters.flatMap { $0.hosts.map(\.host) }, "a row per host, clusters in order")
        for (host, body) in rows {
            let run = try #require(report.host(host))
            let kinds = Self.attribute("data-kind", in: body)
            // The bars are the timeline's steps, consecutive steps of one kind merged.
            var expected: [String] = []
            for step in run.steps where expected.last != step.kind.rawValue { expected.append(step.kind.rawValue) }
            #expect(kinds == expected, "\(host)")
            let xs = Self.attribute("x", in: body).dropFirst().compactMap(Double.init)  // the label's x first
            #expect(xs.count >= kinds.count)
            #expect(Array(xs.prefix(kinds.count)) == Array(xs.prefix(kinds.count)).sorted(), "\(host): bars left to right")
            #expect(Self.attribute("data-outcome", in: body) == [run.outcome?.rawValue].compactMap { $0 })
        }
        // A patched host that moved VMs: drained, installed, back, VMs home.
        let sea2 = try #require(rows.first { $0.host == "SEA-H2" })
        let kinds = Self.attribute("data-kind", in: sea2.body)
        #expect(kinds.first == "precheck" && kinds.dropFirst().first == "drain" && kinds.contains("install"))
        #expect(Array(kinds.suffix(2)) == ["resume", "failback"], "\(kinds)")
        // The held-for-a-person host: two retry bars and the hatched tail.
        let tokyo = try #require(rows.first { $0.host == "TYO-H2" })
        #expect(Self.attribute("data-kind", in: tokyo.body).filter { $0 == "retry" }.count == 2)
        #expect(tokyo.body.contains("class=\"held-tail\""))
        #expect(tokyo.body.contains(">HELD</text>"))
        // Held by Rule 1 before anything was touched: one precheck bar, and why.
        let dublin = try #require(rows.first { $0.host == "DUB-H2" })
        #expect(Self.attribute("data-kind", in: dublin.body) == ["precheck"])
        #expect(dublin.body.contains("Rule 1: non-highly-available VM(s) running: legacy-erp"))
        #expect(!dublin.body.contains("held-tail"), "not left in maintenance")
    }

    @Test func hostSectionsShowTimelinesMovesAndReasons() throws {
        let (report, _) = try ExampleRun.report()
        let html = report.html()
        for host in report.hosts { #expect(html.contains("<article class=\"host\" id=\"host-\(host.host.lowercased())\">"), "\(host.host)") }
        let sea2 = html.components(separatedBy: "id=\"host-sea-h2\"")[1].components(separatedBy: "</article>")[0]
        #expect(sea2.contains("<td>test-sql</td><td>SEA-H2</td>"), "Rule 2's move out")
        #expect(sea2.components(separatedBy: "<td>yes</td>").count - 1 == 2, "both VMs back home (Rule 3)")
        #expect(sea2.contains("move sea-sql-01 home from"))
        #expect(sea2.contains("Updates installed: \(report.host("SEA-H2")!.updatesInstalled.joined(separator: ", "))"))
        let tyo2 = html.components(separatedBy: "id=\"host-tyo-h2\"")[1].components(separatedBy: "</article>")[0]
        #expect(tyo2.contains("0x80070643"))
        #expect(tyo2.contains("held (left in maintenance)"))
        #expect(tyo2.contains("<strong>no</strong>: stays where the drain put it while the host is held in maintenance"))
        #expect(html.contains("<span class=\"n\">\(report.totals.vmsMovedBack)</span><span class=\"l\">VMs moved back</span>"))
    }

    @Test func escapesWhatItShows() {
        #expect(HTML.escape("<b a=\"1\">&'") == "&lt;b a=&quot;1&quot;&gt;&amp;&#39;")
        #expect(GanttChart.tickSeconds(span: 3 * 3600) == 900)
        #expect(ReportFormat.duration(3725) == "1h 02m" && ReportFormat.duration(75) == "1m 15s" && ReportFormat.duration(9) == "9s")
    }
}
