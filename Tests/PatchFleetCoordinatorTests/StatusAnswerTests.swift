import Foundation
import PatchFleetCore
import PatchFleetWire
import Testing
@testable import PatchFleetCoordinator

/// `patchfleet report` over the broker: the run report rides in the status
/// answer while it fits a message, and otherwise the answer says where to
/// read it. Before, the CLI read answers up to the 1 MiB every other message
/// is held to, and the report of a job of a hundred hosts or so failed with
/// "over the limit of 1048576 bytes".
@Suite struct StatusAnswerTests {
    /// A report of about `bytes` of JSON (its size is what matters here).
    static func reply(reportBytes bytes: Int) throws -> JobStatusReply {
        let json = try JSONSerialization.data(withJSONObject: ["jobId": "big", "padding": String(repeating: "x", count: bytes)])
        return JobStatusReply(jobs: [JobSummary(id: "big", state: "running", submittedAt: Instant(secondsSinceEpoch: 1_800_000_000))],
                              report: try EmbeddedJSONObject(json: json))
    }

    static let cli = WireDecoder(maxBodyBytes: JobStatusReply.maximumBytes)

    @Test func aReportOverTheOldLimitReachesTheCLI() throws {
        let message = try CoordinatorService.answer(try Self.reply(reportBytes: 2 << 20), causationId: "q1")
        #expect(message.body.count > WireDecoder.defaultMaxBodyBytes)
        #expect(throws: WireError.self) { try WireDecoder().decode(body: message.body, properties: message.properties) }
        guard case .jobStatus(let reply, _) = try Self.cli.decode(body: message.body, properties: message.properties) else {
            Issue.record("not a status answer")
            return
        }
        #expect(reply.report != nil && reply.problem == nil)
    }

    @Test func aReportTooLargeForOneAnswerIsLeftOutWithWhereToReadIt() throws {
        let message = try CoordinatorService.answer(try Self.reply(reportBytes: 300_000), causationId: "q1", limit: 100_000)
        #expect(message.body.count < 100_000)
        guard case .jobStatus(let reply, _) = try Self.cli.decode(body: message.body, properties: message.properties) else {
            Issue.record("not a status answer")
            return
        }
        #expect(reply.report == nil)
        #expect(reply.jobs.map(\.id) == ["big"], "the summary still answers the question")
        let problem = try #require(reply.problem)
        #expect(problem.hasPrefix("the run report of job big is 0.3 MiB, over the 0.1 MiB one answer may carry"))
        #expect(problem.contains("patchfleet report big --store FILE") && problem.contains("--reports-dir"))
    }
}
