import AMQP
import Foundation
import PatchFleetCore
@testable import PatchFleetWire
import Testing

/// Every JSON body in docs/messages.md is a message the decoder accepts, so
/// the page other systems are built from cannot drift from the code.
@Suite("docs/messages.md examples")
struct DocsExamplesTests {
    static let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/messages.md")

    static func jsonBlocks() throws -> [String] {
        let text = try String(contentsOf: page, encoding: .utf8)
        return text.components(separatedBy: "```json\n").dropFirst().compactMap { $0.components(separatedBy: "```").first }
    }

    /// Decodes `body` as `M`, then runs the real decoder with the envelope a
    /// PatchFleet sender would attach (so header requirements are met).
    private func check<M: WireMessage>(_ type: M.Type, _ body: Data) throws -> M {
        let message = try JSONDecoder().decode(M.self, from: body)
        let properties = message.envelope(messageId: "doc").amqpProperties
        _ = try WireDecoder().decode(body: body, properties: properties)
        return message
    }

    @Test func everyBodyOnThePageDecodes() throws {
        let blocks = try Self.jsonBlocks()
        var seen: Set<MessageSchema> = []
        for block in blocks {
            let body = Data(block.utf8)
            let probe = try JSONDecoder().decode(SchemaProbe.self, from: body)
            let schema = try #require(probe.schema.flatMap(MessageSchema.init(rawValue:)), "\(block.prefix(80))")
            seen.insert(schema)
            switch schema {
            case .jobSubmit:
                let submission = try check(JobSubmission.self, body)
                #expect(submission.validationProblems().isEmpty)
            case .jobControl: _ = try check(JobControlRequest.self, body)
            case .task: _ = try check(TaskMessage.self, body)
            case .result: _ = try check(ResultMessage.self, body)
            case .event: _ = try check(FleetEvent.self, body)
            case .jobQuery: _ = try check(JobQuery.self, body)
            case .jobStatus: _ = try check(JobStatusReply.self, body)
            }
        }
        #expect(seen == Set(MessageSchema.allCases), "the page lacks an example of \(Set(MessageSchema.allCases).subtracting(seen))")
    }

    @Test func theAmqpPublishExampleIsTheTestedOne() throws {
        let text = try String(contentsOf: Self.page, encoding: .utf8)
        #expect(text.contains(#"--header "x-pf-message-id: sub-2026-11-22-a""#))
        #expect(text.contains("--exchange patchfleet.control --routing-key job.submit"))
    }
}
