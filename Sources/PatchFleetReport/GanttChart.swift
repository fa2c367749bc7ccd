import Foundation
import PatchFleetCore

/// One cluster's hosts on the run's time axis, as inline SVG: a row per
/// host, a bar per step kind (coloured by kind, tooltips via `<title>`, so no
/// script is needed), a marker at each end coloured by outcome, and a
/// hatched tail for a host left in maintenance.
struct GanttChart {
    let hosts: [HostRun]
    let start: Instant
    let end: Instant

    static let width = 1100.0
    static let labelWidth = 150.0
    static let rowHeight = 26.0
    static let axisHeight = 24.0
    /// Room right of the run's end for the outcome labels and the hatched
    /// tail of hosts still held in maintenance when the run ended.
    static let rightMargin = 70.0

    var plotWidth: Double { Self.width - Self.labelWidth - Self.rightMargin }
    var span: Double { max(end.seconds(since: start), 1) }

    func x(_ instant: Instant) -> Double {
        Self.labelWidth + min(max(instant.seconds(since: start), 0), span) / span * plotWidth
    }

    func svg() -> String {
        let height = Self.axisHeight + Double(hosts.count) * Self.rowHeight + 6
        var out = "<svg class=\"gantt\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(Self.width)) \(Int(height))\" "
            + "width=\"\(Int(Self.width))\" height=\"\(Int(height))\" role=\"img\">\n"
        out += "<defs><pattern id=\"held-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
            + "<rect width=\"3\" height=\"6\" fill=\"#e8833a\"/></pattern></defs>\n"
        out += axis(height: height)
        for (row, host) in hosts.enumerated() { out += self.row(host, y: Self.axisHeight + Double(row) * Self.rowHeight) }
        return out + "</svg>"
    }

    private func axis(height: Double) -> String {
        let step = Self.tickSeconds(span: span)
        var out = ""
        var t = 0.0
        while t <= span + 0.001 {
            let x = Self.labelWidth + t / span * plotWidth
            out += "<line class=\"tick\" x1=\"\(f(x))\" y1=\"\(f(Self.axisHeight - 4))\" x2=\"\(f(x))\" y2=\"\(f(height))\"/>"
            out += "<text class=\"tick-label\" x=\"\(f(x))\" y=\"14\">+\(Self.tickLabel(t))</text>\n"
            t += step
        }
        return out
    }

    private func row(_ host: HostRun, y: Double) -> String {
        let name = HTML.escape(host.host)
        var out = "<g class=\"row\" data-host=\"\(name)\">"
        out += "<text class=\"host-label\" x=\"\(f(Self.labelWidth - 8))\" y=\"\(f(y + Self.rowHeight * 0.65))\">\(name)</text>"
        for bar in StepBar.bars(host.steps) {
            let x0 = x(bar.start)
            let width = max(x(bar.end) - x0, 2)
            let title = "\(host.host): \(bar.kind.label), \(ReportFormat.clock(bar.start))–\(ReportFormat.clock(bar.end)) "
                + "(\(ReportFormat.duration(bar.end.seconds(since: bar.start))))\n" + bar.details.prefix(12).joined(separator: "\n")
                + (bar.details.count > 12 ? "\n… \(bar.details.count - 12) more" : "")
            out += "<rect class=\"bar kind-\(bar.kind.rawValue)\" data-kind=\"\(bar.kind.rawValue)\" x=\"\(f(x0))\" y=\"\(f(y + 4))\" "
                + "width=\"\(f(width))\" height=\"\(f(Self.rowHeight - 8))\"><title>\(HTML.escape(title))</title></rect>"
        }
        if let finished = host.finishedAt, let outcome = host.outcome {
            let xEnd = x(finished)
            if host.leftInMaintenance {
                out += "<rect class=\"held-tail\" x=\"\(f(xEnd))\" y=\"\(f(y + 4))\" width=\"\(f(Self.width - 4 - xEnd))\" "
                    + "height=\"\(f(Self.rowHeight - 8))\" fill=\"url(#held-hatch)\"><title>\(name): left in maintenance for a person"
                    + "\(host.reason.map { ": " + HTML.escape($0) } ?? "")</title></rect>"
            }
            let reason = host.reason.map { ": " + HTML.escape($0) } ?? ""
            out += "<circle class=\"end outcome-\(outcome.rawValue)\" data-outcome=\"\(outcome.rawValue)\" cx=\"\(f(xEnd))\" "
                + "cy=\"\(f(y + Self.rowHeight / 2))\" r=\"6\"><title>\(name) \(outcome.rawValue)\(reason)</title></circle>"
            if outcome != .patched {
                out += "<text class=\"end-label outcome-text-\(outcome.rawValue)\" x=\"\(f(xEnd + 10))\" "
                    + "y=\"\(f(y + Self.rowHeight * 0.65))\">\(outcome.rawValue.uppercased())</text>"
            }
        }
        return out + "</g>\n"
    }

    /// A tick every 1, 2, 5, 10, 15, 30 minutes, 1, 2, 4, 6, 12 hours: about 8-12 ticks.
    static func tickSeconds(span: Double) -> Double {
        let candidates: [Double] = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 21_600, 43_200, 86_400]
        return candidates.first { span / $0 <= 12 } ?? 86_400
    }

    /// `0`, `15m`, `1h`, `1h30m`: short enough for a tick.
    static func tickLabel(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60)
        if h > 0 { return m > 0 ? "\(h)h\(m)m" : "\(h)h" }
        if m > 0 { return s > 0 ? "\(m)m\(s)s" : "\(m)m" }
        return "\(s)s"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
}

enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
