import Foundation
import PatchFleetCore

/// Times and durations as people read them, the same in every renderer.
enum ReportFormat {
    /// `2026-11-29 15:02:53 UTC`.
    static func time(_ instant: Instant?) -> String {
        guard let instant else { return "—" }
        return Instant.iso8601(instant).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }

    /// `15:02:53`, for rows where the date is in the heading.
    static func clock(_ instant: Instant) -> String {
        let seconds = Int(instant.secondsSinceEpoch.rounded(.down)) % 86_400
        return String(format: "%02d:%02d:%02d", seconds / 3600, seconds % 3600 / 60, seconds % 60)
    }

    /// `2h 05m`, `12m 30s`, `45s`.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "—" }
        let total = Int(seconds.rounded())
        if total >= 3600 { return String(format: "%dh %02dm", total / 3600, total % 3600 / 60) }
        if total >= 60 { return String(format: "%dm %02ds", total / 60, total % 60) }
        return "\(total)s"
    }

    static func outcome(_ host: HostRun) -> String {
        guard let outcome = host.outcome else { return "in progress (\(host.phase.rawValue))" }
        return outcome.rawValue + (host.leftInMaintenance ? " (left in maintenance)" : "")
    }

    static func list(_ items: [String]) -> String { items.isEmpty ? "none" : items.joined(separator: ", ") }
}

extension RunReport {
    /// The report as JSON (sorted keys, times in seconds since the epoch):
    /// the same value the other renderers show, for other tools.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Reads back what `json()` wrote.
    public static func decode(json: Data) throws -> RunReport {
        try JSONDecoder().decode(RunReport.self, from: json)
    }
}
