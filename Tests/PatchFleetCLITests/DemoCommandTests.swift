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
    }
}
