import Foundation
import PatchFleetCoordinator
import PatchFleetCore
import PatchFleetReport
import PatchFleetStore
import Testing

/// The reports directory the coordinator writes at each job's end.
@Suite struct ReportFilesTests {
    @Test func aJobIdNeverNamesAPathOutsideTheDirectory() {
        #expect(ReportFiles.fileName("nov-2026-building-44") == "nov-2026-building-44")
        #expect(ReportFiles.fileName("../../etc/passwd") == "_.._.._etc_passwd")
        #expect(ReportFiles.fileName("chg 0042/dublin") == "chg_0042_dublin")
        #expect(ReportFiles.fileName("") == "_")
        #expect(ReportFiles.beside(store: "/var/lib/pf/coordinator.sqlite").directory.path == "/var/lib/pf/coordinator.sqlite.reports")
    }

    @Test func writesBothFilesWholeAndReplacesThem() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reports-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try JobSpecLoader.load(#"{"schemaVersion":1,"id":"job/1","targets":{"hosts":["h"]},"updates":{"updateIds":["KB1"]}}"#)
        let files = ReportFiles(directory: directory)
        var job = JobRecord(spec: spec, state: .running, submittedAt: Instant(secondsSinceEpoch: 1_800_000_000))
        try files.write(RunReport(job: job, sagas: []))
        job.state = .finished
        let written = try files.write(RunReport(job: job, sagas: []))
        #expect(written.map(\.lastPathComponent) == ["job_1.html", "job_1.json"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["job_1.html", "job_1.json"],
                "no temporary file left behind")
        let json = try RunReport.decode(json: Data(contentsOf: written[1]))
        #expect(json.jobId == "job/1" && json.jobState == "finished", "the second write replaced the first")
        #expect(try String(contentsOf: written[0], encoding: .utf8).contains("<code>job/1</code>"))
    }
}
