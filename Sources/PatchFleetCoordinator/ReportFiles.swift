import Foundation
import PatchFleetReport

/// The reports directory: `<job>.html` and `<job>.json` for every finished
/// job, written whole to a temporary name and renamed, so a reader (a web
/// server, a file share) never sees half a report.
public struct ReportFiles: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// `--reports-dir` unset: beside the store, `<store>.reports`.
    public static func beside(store: String) -> ReportFiles {
        ReportFiles(directory: URL(fileURLWithPath: store + ".reports"))
    }

    /// Writes both files; returns them.
    @discardableResult
    public func write(_ report: RunReport) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let name = Self.fileName(report.jobId)
        let files = [(directory.appendingPathComponent(name + ".html"), Data(report.html().utf8)),
                     (directory.appendingPathComponent(name + ".json"), try report.json())]
        for (url, data) in files {
            let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
            try data.write(to: temporary)
            // rename(2) replaces the old file in one step.
            guard rename(temporary.path, url.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        return files.map(\.0)
    }

    /// A job id as a file name: anything but letters, digits, `.`, `-`, `_` becomes `_`
    /// (a job id is the submitter's text and must not name a path).
    public static func fileName(_ jobId: String) -> String {
        let safe = String(jobId.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
        return safe.hasPrefix(".") || safe.isEmpty ? "_" + safe : safe
    }
}
