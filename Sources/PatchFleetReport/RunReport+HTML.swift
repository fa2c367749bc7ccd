import PatchFleetCore

extension RunReport {
    /// The report as one self-contained HTML page: inline CSS, inline SVG,
    /// no script and nothing fetched, so it can be mailed, attached to a
    /// ticket or served as is (the coordinator's dashboard serves it).
    public func html() -> String {
        let title = "Patch run \(jobId)"
        var body = header() + totalsCards()
        let start = startedAt ?? submittedAt
        let end = max(endedAt ?? start, start.adding(seconds: 1))
        body += "<h2>Timeline</h2>\n" + legend()
        for cluster in clusters {
            body += "<section class=\"cluster\" id=\"cluster-\(anchor(cluster.name))\">\n<h3>\(HTML.escape(cluster.name))</h3>\n"
            body += GanttChart(hosts: cluster.hosts, start: start, end: end).svg() + "\n"
            body += hostTable(cluster.hosts) + "</section>\n"
        }
        body += "<h2>Hosts</h2>\n" + hosts.map(hostDetails).joined()
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title))</title>
            <style>\(Self.css)</style>
            </head>
            <body>
            \(body)
            <footer>PatchFleet run report · \(HTML.escape(jobId)) · times UTC, on the coordinator's saga clock</footer>
            </body>
            </html>

            """
    }

    private func header() -> String {
        let state = HTML.escape(jobState)
        return """
            <header><h1>Patch run <code>\(HTML.escape(jobId))</code> <span class="state state-\(state)">\(state)</span></h1>
            <p>Submitted \(ReportFormat.time(submittedAt)) · started \(ReportFormat.time(startedAt)) · ended \(ReportFormat.time(endedAt)) · \
            duration <strong>\(ReportFormat.duration(durationSeconds))</strong></p>
            <p>Updates: \(HTML.escape(ReportFormat.list(updateIds)))\(reason.map { " · " + HTML.escape($0) } ?? "")</p></header>

            """
    }

    private func totalsCards() -> String {
        let cards: [(String, Int, String)] = [
            ("hosts", totals.hosts, ""), ("patched", totals.count(.patched), "outcome-patched"),
            ("held", totals.count(.held), "outcome-held"), ("failed", totals.count(.failed), "outcome-failed"),
            ("skipped", totals.count(.skipped), "outcome-skipped"), ("cancelled", totals.count(.cancelled), "outcome-cancelled"),
            ("in progress", totals.outcomes["inProgress"] ?? 0, ""),
            ("left in maintenance", totals.leftInMaintenance, totals.leftInMaintenance > 0 ? "outcome-held" : ""),
            ("updates installed", totals.updatesInstalled, ""), ("reboots", totals.reboots, ""), ("retries", totals.retries, ""),
            ("VMs moved out", totals.vmsMovedOut, ""), ("VMs moved back", totals.vmsMovedBack, ""),
        ]
        let items = cards.map { "<div class=\"card \($0.2)\"><span class=\"n\">\($0.1)</span><span class=\"l\">\($0.0)</span></div>" }
        return "<section class=\"totals\">\(items.joined())</section>\n"
    }

    private func legend() -> String {
        let kinds = StepKind.allCases.filter { kind in hosts.contains { $0.steps.contains { $0.kind == kind } } }
        let items = kinds.map { "<span><i class=\"swatch kind-\($0.rawValue)\"></i>\(HTML.escape($0.label))</span>" }
        let outcomes = HostOutcome.Kind.allCases.map { "<span><i class=\"dot outcome-\($0.rawValue)\"></i>\($0.rawValue)</span>" }
        return "<p class=\"legend\">\(items.joined()) \(outcomes.joined()) <span><i class=\"swatch hatch\"></i>left in maintenance</span></p>\n"
    }

    private func hostTable(_ hosts: [HostRun]) -> String {
        var rows = ""
        for host in hosts {
            let outcome = host.outcome?.rawValue ?? "running"
            rows += "<tr><td><a href=\"#host-\(anchor(host.host))\">\(HTML.escape(host.host))</a></td>"
                + "<td><span class=\"pill outcome-\(outcome)\">\(HTML.escape(ReportFormat.outcome(host)))</span></td>"
                + "<td>\(host.startedAt.map(ReportFormat.clock) ?? "—")</td><td>\(ReportFormat.duration(host.durationSeconds))</td>"
                + "<td>\(host.updatesInstalled.count)</td><td>\(host.reboots)</td><td>\(host.movedOut.count) / \(host.movedBack.count)</td>"
                + "<td>\(HTML.escape(host.reason ?? ""))</td></tr>\n"
        }
        return "<table class=\"hosts\"><thead><tr><th>host</th><th>outcome</th><th>started</th><th>duration</th><th>updates</th>"
            + "<th>reboots</th><th>VMs out / back</th><th>reason</th></tr></thead><tbody>\n\(rows)</tbody></table>\n"
    }

    private func hostDetails(_ host: HostRun) -> String {
        let outcome = host.outcome?.rawValue ?? "running"
        var out = "<article class=\"host\" id=\"host-\(anchor(host.host))\"><h3>\(HTML.escape(host.host)) "
            + "<small>\(HTML.escape(host.cluster ?? "standalone"))</small> "
            + "<span class=\"pill outcome-\(outcome)\">\(HTML.escape(ReportFormat.outcome(host)))</span></h3>\n"
        if let reason = host.reason { out += "<p class=\"reason\">\(HTML.escape(reason))</p>\n" }
        if !host.timelineRecorded { out += "<p class=\"muted\">No step timeline: this saga was stored before timelines were recorded.</p>\n" }
        out += "<p>Updates installed: \(HTML.escape(ReportFormat.list(host.updatesInstalled))) · reboots: \(host.reboots) · "
            + "retries: \(host.retries) · duration: \(ReportFormat.duration(host.durationSeconds))</p>\n"
        if !host.steps.isEmpty {
            out += "<table class=\"steps\"><thead><tr><th>time</th><th>duration</th><th>phase</th><th>step</th></tr></thead><tbody>\n"
            for step in host.steps {
                out += "<tr><td>\(ReportFormat.clock(step.at))</td><td>\(ReportFormat.duration(step.durationSeconds))</td>"
                    + "<td><i class=\"swatch kind-\(step.kind.rawValue)\"></i>\(step.phase.rawValue)</td>"
                    + "<td>\(HTML.escape(step.detail ?? ""))</td></tr>\n"
            }
            if let end = host.finishedAt {
                out += "<tr><td>\(ReportFormat.clock(end))</td><td></td><td>done</td><td>\(HTML.escape(ReportFormat.outcome(host)))</td></tr>\n"
            }
            out += "</tbody></table>\n"
        }
        if !host.movedOut.isEmpty {
            let back = Set(host.movedBack.map(\.vm))
            out += "<table class=\"moves\"><thead><tr><th>VM</th><th>from (home)</th><th>moved to</th><th>back home (Rule 3)</th></tr></thead><tbody>\n"
            for move in host.movedOut {
                out += "<tr><td>\(HTML.escape(move.vm))</td><td>\(HTML.escape(move.home))</td><td>\(HTML.escape(move.movedTo))</td>"
                    + "<td>\(back.contains(move.vm) ? "yes" : "<strong>no</strong>: " + HTML.escape(host.whyNotBack(move.vm) ?? ""))</td></tr>\n"
            }
            out += "</tbody></table>\n"
        }
        if !host.rules.isEmpty {
            out += "<p class=\"rules-title\">Rules and skips</p><ul class=\"rules\">"
                + host.rules.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>\n"
        }
        let other = host.notes.filter { !$0.message.contains("Rule ") }
        if !other.isEmpty {
            out += "<ul class=\"notes\">" + other.map { "<li>\(HTML.escape(($0.vm.map { "\($0): " } ?? "") + $0.message))</li>" }.joined()
                + "</ul>\n"
        }
        return out + "</article>\n"
    }

    private func anchor(_ text: String) -> String {
        String(text.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }

    static let css = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1160px;color:#1d2430;padding:0 16px}
        h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
        h3{font-size:15px;margin:18px 0 6px}h3 small{color:#6b7585;font-weight:normal}code{background:#f1f3f7;padding:1px 5px;border-radius:4px}
        header p{margin:2px 0;color:#4a5466}.state{font-size:13px;padding:2px 8px;border-radius:10px;background:#e6e9ef;vertical-align:middle}
        .state-finished{background:#d9f2e3}.state-running{background:#dbe8fb}
        .totals{display:flex;flex-wrap:wrap;gap:8px;margin:14px 0}.card{border:1px solid #dde2ea;border-radius:8px;padding:6px 12px;min-width:88px}
        .card .n{display:block;font-size:20px;font-weight:600}.card .l{color:#6b7585;font-size:12px}
        .card.outcome-patched{border-color:#2e9e5b}.card.outcome-held{border-color:#e8833a}.card.outcome-failed{border-color:#d64545}
        .legend span{margin-right:14px;white-space:nowrap;font-size:12px;color:#4a5466}
        .swatch{display:inline-block;width:14px;height:10px;border-radius:2px;margin-right:5px;vertical-align:middle}
        .dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px;vertical-align:middle}
        .hatch{background:repeating-linear-gradient(45deg,#e8833a 0 3px,#fff 3px 6px)}
        svg.gantt{display:block;max-width:100%;height:auto;background:#fbfcfe;border:1px solid #e4e8ef;border-radius:6px}
        .tick{stroke:#e4e8ef}.tick-label{font-size:10px;fill:#6b7585;text-anchor:middle}
        .host-label{font-size:12px;text-anchor:end;fill:#1d2430}.end-label{font-size:10px;font-weight:700;paint-order:stroke;stroke:#fff;stroke-width:3px}
        .bar{stroke:#fff;stroke-width:.5}
        .kind-precheck{fill:#9aa5b8;background:#9aa5b8}.kind-drain{fill:#4f7fd9;background:#4f7fd9}
        .kind-install{fill:#8c5bd6;background:#8c5bd6}.kind-reboot{fill:#d9a43b;background:#d9a43b}
        .kind-retry{fill:#d64545;background:#d64545}.kind-resume{fill:#2fa7a0;background:#2fa7a0}
        .kind-failback{fill:#2e9e5b;background:#2e9e5b}.kind-unrecorded{fill:#c9ced8;background:#c9ced8}
        .outcome-patched{fill:#2e9e5b;background:#2e9e5b}.outcome-held{fill:#e8833a;background:#e8833a}
        .outcome-failed{fill:#d64545;background:#d64545}.outcome-skipped{fill:#8a94a6;background:#8a94a6}
        .outcome-cancelled{fill:#5a6372;background:#5a6372}.outcome-running{background:#4f7fd9}
        circle.end{stroke:#fff;stroke-width:1.5}.outcome-text-held{fill:#b85d17}.outcome-text-failed{fill:#b52f2f}
        .outcome-text-skipped,.outcome-text-cancelled{fill:#5a6372}
        .card.outcome-patched,.card.outcome-held,.card.outcome-failed,.card.outcome-skipped,.card.outcome-cancelled{background:none}
        table{border-collapse:collapse;margin:8px 0;font-size:13px;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff4;vertical-align:top}
        td:first-child{white-space:nowrap}th{color:#6b7585;font-weight:600;font-size:12px}.pill{color:#fff;padding:1px 8px;border-radius:9px;font-size:12px;white-space:nowrap}
        article.host{border-top:1px solid #eceff4;padding-top:4px}.reason{background:#fff4e8;border-left:3px solid #e8833a;padding:6px 10px;margin:6px 0}
        .rules-title{font-weight:600;margin:8px 0 2px}.muted{color:#6b7585}footer{margin:32px 0 8px;color:#8a94a6;font-size:12px}
        """
}
