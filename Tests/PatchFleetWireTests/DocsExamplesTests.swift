import AMQP
import Foundation
import PatchFleetCore
import PatchFleetTestSupport
@testable import PatchFleetWire
import Testing
import Yams

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

    /// (d) The bodies other systems copy from the pages, and the example job
    /// files, are valid against the published schemas (and decode, above).
    @Test(arguments: ["messages.md", "integrating.md"])
    func everyPublicBodyOnThePageMatchesItsSchema(page: String) throws {
        let library = try PublishedSchemas.library()
        var checked = 0
        let document = try DocsPage(page)
        for block in document.blocks("json") + Self.shellBodies(document) {
            let body = try JSONValue.parse(block)
            let schema = try #require(body["schema"]?.stringValue.flatMap(MessageSchema.init(rawValue:)), "\(block.prefix(80))")
            guard let file = PublishedSchemas.file(for: schema) else { continue }
            let result = library.validate(body, against: try PublishedSchemas.root(file, library))
            #expect(result.isValid, "\(page): \(result.errors)\n\(block)")
            #expect(CodeVerdict.accepts(file, Data(block.utf8)), "\(page): the code refuses\n\(block)")
            checked += 1
        }
        #expect(checked >= 4, "\(page): \(checked) bodies")
    }

    /// The bodies given to `amqp-publish --body '...'` in a page's shell examples.
    static func shellBodies(_ page: DocsPage) -> [String] {
        (page.blocks("sh") + page.blocks("shell")).flatMap { block in
            block.components(separatedBy: "--body '").dropFirst().compactMap { $0.components(separatedBy: "'").first }
        }.filter { $0.hasPrefix("{") && $0.contains(#""schema""#) }
    }

    @Test func theExampleJobFilesMatchTheJobSchema() throws {
        let library = try PublishedSchemas.library()
        let root = try PublishedSchemas.root(PublishedSchemas.jobSpecFile, library)
        let examples = DocsPage.docs.appendingPathComponent("examples")
        let json = try Data(contentsOf: examples.appendingPathComponent("job.json"))
        let yaml = try JSONValue(yaml: try Yams.load(yaml: String(contentsOf: examples.appendingPathComponent("job.yaml"), encoding: .utf8)))
        for (name, document) in [("job.json", try JSONValue.parse(json)), ("job.yaml", yaml)] {
            let result = library.validate(document, against: root)
            #expect(result.isValid, "\(name): \(result.errors)")
        }
        #expect(CodeVerdict.accepts(PublishedSchemas.jobSpecFile, json))
        #expect(try JSONValue.parse(json) == yaml, "job.json and job.yaml are the same job")
    }

    /// The page's Python is at least Python (pika itself is not installed for the tests).
    @Test func thePythonExampleCompiles() async throws {
        let blocks = try DocsPage("integrating.md").blocks("python")
        #expect(blocks.count == 1)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("integrating-\(UUID().uuidString.prefix(8)).py")
        try blocks.joined().write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        _ = try await runCommand(["python3", "-c", "import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])", file.path])
    }

    /// The walkthrough and the status question parse as shell scripts
    /// (IntegrationPageTests runs them against a fleet).
    @Test(arguments: ["follow-job.sh", "job-status.sh"])
    func theWalkthroughIsAShellScript(name: String) async throws {
        let script = try DocsPage("integrating.md").script(named: name)
        #expect(script.contains("amqp-publish"))
        #expect(script.contains("amqp-consume"))
        _ = try await runCommand(["sh", "-n", "-c", script])
    }

    /// The status question goes where the topology takes questions, with `reply_to`.
    @Test func theStatusQuestionIsSentWhereTheCoordinatorListens() throws {
        let script = try DocsPage("integrating.md").script(named: "job-status.sh")
        let topology = FleetTopology(prefix: "PF")
        #expect(script.contains(#"--exchange "$PF.query" --routing-key \#(FleetTopology.queryRoutingKey)"#))
        #expect(topology.queryExchange == "PF.query")
        #expect(script.contains(#"--reply-to "$ANSWERS""#))
        #expect(script.contains(#"--header "x-pf-message-id: $ASK""#))
    }

    @Test func theAmqpPublishExampleIsTheTestedOne() throws {
        let text = try String(contentsOf: Self.page, encoding: .utf8)
        #expect(text.contains(#"--header "x-pf-message-id: sub-2026-11-22-a""#))
        #expect(text.contains("--exchange patchfleet.control --routing-key job.submit"))
    }
}
