import PatchFleetCore

extension RunReport {
    /// The report as Markdown: for a ticket, a chat message or a wiki page.
    public func markdown() -> String {
        var out: [String] = []
        out.append("# Patch run `\(jobId)`")
        out.append("")
        out.append("- state: **\(jobState)**\(reason.map { " (\($0))" } ?? "")")
        out.append("- submitted: \(ReportFormat.time(submittedAt)); started: \(ReportFormat.time(startedAt)); "
                   + "ended: \(ReportFormat.time(endedAt)); duration: \(ReportFormat.duration(durationSeconds))")
        out.append("- updates: \(ReportFormat.list(updateIds))")
        out.append("")
        out.append("## Totals")
        out.append("")
        out.append("| hosts | patched | held | failed | skipped | cancelled | in progress | left in maintenance | updates installed | reboots | retries | VMs moved out | VMs moved back |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        out.append("| \(totals.hosts) | \(totals.count(.patched)) | \(totals.count(.held)) | \(totals.count(.failed)) | "
                   + "\(totals.count(.skipped)) | \(totals.count(.cancelled)) | \(totals.outcomes["inProgress"] ?? 0) | "
                   + "\(totals.leftInMaintenance) | \(totals.updatesInstalled) | \(totals.reboots) | \(totals.retries) | "
                   + "\(totals.vmsMovedOut) | \(totals.vmsMovedBack) |")
        for cluster in clusters {
            out.append("")
            out.append("## \(cluster.name)")
            out.append("")
            out.append("| host | outcome | started | duration | updates installed | reboots | VMs out / back | reason |")
            out.append("|---|---|---|---|---|---|---|---|")
            for host in cluster.hosts {
                out.append("| \(host.host) | \(ReportFormat.outcome(host)) | \(host.startedAt.map(ReportFormat.clock) ?? "—") | "
                           + "\(ReportFormat.duration(host.durationSeconds)) | \(ReportFormat.list(host.updatesInstalled)) | "
                           + "\(host.reboots) | \(host.movedOut.count) / \(host.movedBack.count) | \(cell(host.reason ?? "")) |")
            }
            for host in cluster.hosts { out += hostSection(host) }
        }
        return out.joined(separator: "\n") + "\n"
    }

    private func hostSection(_ host: HostRun) -> [String] {
        var out = ["", "### \(host.host)", ""]
        out.append("Outcome: **\(ReportFormat.outcome(host))**\(host.reason.map { " — \($0)" } ?? "")")
        if !host.timelineRecorded { out += ["", "_No step timeline: this saga was stored before timelines were recorded._"] }
        if !host.steps.isEmpty {
            out += ["", "| time | duration | phase | step |", "|---|---|---|---|"]
            for step in host.steps {
                out.append("| \(ReportFormat.clock(step.at)) | \(ReportFormat.duration(step.durationSeconds)) | "
                           + "\(step.phase.rawValue) | \(cell(step.detail ?? "")) |")
            }
            if let end = host.finishedAt { out.append("| \(ReportFormat.clock(end)) | | done | \(ReportFormat.outcome(host)) |") }
        }
        if !host.movedOut.isEmpty {
            out += ["", "VMs moved out and back (Rule 3):", ""]
            let back = Set(host.movedBack.map(\.vm))
            for move in host.movedOut {
                out.append("- \(move.vm): \(move.home) → \(move.movedTo)"
                           + (back.contains(move.vm) ? " → back on \(move.home)" : " (not moved back: \(host.whyNotBack(move.vm) ?? ""))"))
            }
        }
        if !host.rules.isEmpty {
            out += ["", "Rules and skips:", ""]
            out += host.rules.map { "- \($0)" }
        }
        let other = host.notes.filter { !$0.message.contains("Rule ") }
        if !other.isEmpty {
            out += ["", "Notes:", ""]
            out += other.map { "- \($0.vm.map { "\($0): " } ?? "")\($0.message)" }
        }
        return out
    }

    private func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
