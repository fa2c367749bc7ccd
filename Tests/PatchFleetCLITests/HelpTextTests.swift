import Foundation
import PatchFleetTestSupport
import Testing

/// Every command's `--help` shows how it is used, with at least one example
/// (issue 4: "Help text with examples"). Asked of the built executable, as a
/// person would.
@Suite("Help text", .timeLimit(.minutes(2)))
struct HelpTextTests {
    static let commands = [
        "demo", "submit", "watch", "jobs", "status", "dead-letters", "dead-letters list", "dead-letters replay",
        "dead-letters purge", "cancel", "pause", "resume", "coordinator", "worker", "lab", "lab-report", "simulate",
        "selfcheck", "config", "keygen", "chaos",
    ]

    @Test(arguments: commands)
    func everyCommandsHelpHasExamples(_ command: String) async throws {
        let help = try await runCommand([patchfleetExecutable()] + command.split(separator: " ").map(String.init) + ["--help"])
        #expect(help.contains("Example"), "patchfleet \(command) --help:\n\(help)")
        #expect(help.contains("patchfleet \(command.split(separator: " ").first!)"), "an example runs the command itself:\n\(help)")
    }

    @Test func statusWithoutAJobSaysItListsTheJobs() async throws {
        let help = try await runCommand([patchfleetExecutable(), "status", "--help"])
        #expect(help.contains("Without JOB, lists the recent jobs"), "\(help)")
    }
}
