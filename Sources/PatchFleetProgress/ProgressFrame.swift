import Foundation
import PatchFleetCore

/// Draws a `ProgressBoard` as lines for a terminal: a header, then a bar
/// per cluster with its count and the host(s) in flight and their step.
/// Pure (time and width are arguments) so tests can check frames; every
/// line fits `width` columns, since a wrapped line would break redrawing
/// in place.
public struct ProgressFrame: Sendable {
    public var width: Int
    /// ANSI colours (off for NO_COLOR).
    public var color: Bool

    public init(width: Int, color: Bool) {
        self.width = max(width, 40)
        self.color = color
    }

    public func lines(_ board: ProgressBoard, elapsedSeconds: Double) -> [String] {
        let clusters = board.clusters
        var header = "job \(board.jobId) \(board.jobState ?? "submitted") · \(board.doneCount)/\(board.hosts.count) hosts done · "
            + Self.elapsed(elapsedSeconds)
        if board.hosts.isEmpty { header += " · waiting for the coordinator" }
        var out = [paint(fit(header), "1")]
        let nameWidth = min(max(clusters.map(\.name.count).max() ?? 0, 8), 16)
        let barWidth = max(10, min(30, width / 4))
        for cluster in clusters {
            let name = fit(cluster.name, to: nameWidth).padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            let count = "\(cluster.done)/\(cluster.total)".padding(toLength: 6, withPad: " ", startingAt: 0)
            let room = width - nameWidth - barWidth - count.count - 5
            let tail = fit(Self.status(cluster), to: max(room, 0))
            out.append("\(name) \(bar(cluster, width: barWidth)) \(count) \(tail)")
        }
        return out
    }

    /// `SEA-H3 draining`, then the outcomes that need a look (`1 held`).
    static func status(_ cluster: ProgressBoard.ClusterProgress) -> String {
        var parts = cluster.current.map { "\($0.host) \($0.phase.rawValue)" }
        if parts.isEmpty { parts.append(cluster.done == cluster.total ? "done" : "waiting") }
        let notable = HostOutcome.Kind.allCases.filter { $0 != .patched }.compactMap { kind in
            cluster.outcomes[kind].map { "\($0) \(kind.rawValue)" }
        }
        return (parts + notable).joined(separator: " · ")
    }

    /// Done hosts filled: green while all patched, yellow with held or
    /// skipped hosts, red with failed ones.
    func bar(_ cluster: ProgressBoard.ClusterProgress, width: Int) -> String {
        let filled = cluster.total == 0 ? 0 : Int((Double(cluster.done) / Double(cluster.total) * Double(width)).rounded(.down))
        let tone = (cluster.outcomes[.failed] ?? 0) > 0 ? "31" : cluster.outcomes.keys.contains { $0 != .patched } ? "33" : "32"
        return "[" + paint(String(repeating: "█", count: filled), tone) + paint(String(repeating: "░", count: width - filled), "2") + "]"
    }

    func paint(_ text: String, _ code: String) -> String {
        color && !text.isEmpty ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func fit(_ text: String, to columns: Int? = nil) -> String {
        let limit = columns ?? width
        guard text.count > limit else { return text }
        return limit <= 1 ? String(text.prefix(limit)) : String(text.prefix(limit - 1)) + "…"
    }

    static func elapsed(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.down))
        return s >= 3600 ? String(format: "%dh%02dm%02ds", s / 3600, s % 3600 / 60, s % 60)
            : s >= 60 ? String(format: "%dm%02ds", s / 60, s % 60) : "\(s)s"
    }
}
