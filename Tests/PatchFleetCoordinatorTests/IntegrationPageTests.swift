import AMQP
import Foundation
import PatchFleetCore
import PatchFleetTestSupport
import PatchFleetWire
import Testing

/// docs/integrating.md, done exactly as it says, by something that is not
/// Swift: its shell walkthrough (amqp-tools and jq), taken from the page as it
/// is, submits its example bodies to a real coordinator with workers and the
/// lab, and follows them. The test's own consumer on the events exchange is
/// the reference for what was published.
@Suite("docs/integrating.md, run as written", .serialized, .timeLimit(.minutes(3)))
struct IntegrationPageTests {
    let page: DocsPage
    /// The page's example submissions: the Dublin job, then the one naming Atlantis.
    let accepted: String
    let rejected: String

    init() throws {
        page = try DocsPage("integrating.md")
        let submissions = page.blocks("json").filter { $0.contains(#""schema": "patchfleet.job.submit""#) }
        try #require(submissions.count == 2, "the page's two example submissions")
        accepted = submissions[0]
        rejected = submissions[1]
    }

    /// The page's follow-job script (`sh`), with `submission` as the body; its exit status and output.
    func follow(_ submission: String, on fleet: FleetHarness) async throws -> (status: Int32, output: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("follow-job-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let body = directory.appendingPathComponent("submission.json")
        try submission.write(to: body, atomically: true, encoding: .utf8)
        return try await run("follow-job.sh", on: fleet, in: directory, environment: ["SUBMISSION": body.path])
    }

    /// The page's job-status script (`sh`), asking about `job` (nil: the newest jobs); its exit status and output.
    func askStatus(_ job: String?, on fleet: FleetHarness) async throws -> (status: Int32, output: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("job-status-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await run("job-status.sh", on: fleet, in: directory, environment: ["JOB": job ?? ""])
    }

    /// One of the page's scripts, written to `directory` and run with `sh` against `fleet`.
    func run(_ name: String, on fleet: FleetHarness, in directory: URL,
             environment: [String: String]) async throws -> (status: Int32, output: String) {
        let script = directory.appendingPathComponent(name)
        try page.script(named: name).write(to: script, atomically: true, encoding: .utf8)
        let child = try ChildProcess("sh", [script.path], log: String(name.dropLast(3)), environment: [
            "AMQP_URL": FleetEndToEndTests.url, "PF": fleet.topology.prefix,
        ].merging(environment) { $1 }, ownGroup: true)
        // Past the time limit the test is cancelled: end the script and everything it started.
        let status = await withTaskCancellationHandler { await child.exitStatus() } onCancel: { child.killGroup(SIGKILL) }
        child.killGroup(SIGKILL)  // whatever it left behind (normally nothing)
        let output = child.output()
        unlink(child.logPath)
        return (status, output)
    }

    /// A fleet for `body`, stopped afterwards whether `body` passed or not.
    func withFleet(_ body: (FleetHarness) async throws -> Void) async throws {
        let fleet = try await FleetHarness.start(timeScale: 2_000)
        do {
            try await body(fleet)
        } catch {
            try? await fleet.stop()
            throw error
        }
        try await fleet.stop()
    }

    /// The message id the script chose, from its `submitted job ... as message ...` line.
    func messageId(_ output: String, job: String) throws -> String {
        let prefix = "submitted job \(job) as message "
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix(prefix) }, "\(output)")
        return String(line.dropFirst(prefix.count))
    }

    /// An event as the page's jq program prints it.
    static func line(_ event: FleetEventBody) -> String? {
        switch event {
        case .job(let change):
            "job \(change.jobId) \(change.state.rawValue)" + (change.reason.map { ": \($0)" } ?? "")
        case .host(let change):
            "host \(change.cluster ?? "~") \(change.host) \(change.phase.rawValue)"
                + (change.outcome.map { " \($0.kind.rawValue)" + ($0.reason.map { ": \($0)" } ?? "") } ?? "")
        case .jobRejected:
            nil
        }
    }

    static func schemas() throws -> (SchemaLibrary, SchemaLocation) {
        let library = try SchemaLibrary(directory: DocsPage.docs.appendingPathComponent("schemas"))
        return (library, try library.root(DocsPage.docs.appendingPathComponent("schemas/event.schema.json").path))
    }

    /// Then, the job ended, the page's status script asks about it.
    @Test func theExampleJobIsSubmittedAndFollowedToItsEnd() async throws {
        try await withFleet { fleet in
            try await followTheExampleJob(fleet)
            try await askAboutTheExampleJob(fleet)
        }
    }

    func followTheExampleJob(_ fleet: FleetHarness) async throws {
        let spec = try JSONDecoder().decode(JobSubmission.self, from: Data(accepted.utf8)).job
        let (status, output) = try await follow(accepted, on: fleet)
        // Then the job has ended, so the test's own consumer has every event too.
        try #require(status == 0, "the script's exit status for a job that succeeded\n\(output)")

        // Everything the fleet published about the job, in order, as the test's own consumer saw it.
        let published = try await fleet.events {
            if case .job(let change) = $0 { change.jobId == spec.id && [.succeeded, .failed, .cancelled].contains(change.state) } else { false }
        }
        let ours = published.filter {
            switch $0.event {
            case .job(let change): change.jobId == spec.id
            case .host(let change): change.jobId == spec.id
            case .jobRejected: false
            }
        }
        let followed = output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("job ") || $0.hasPrefix("host ") }
        #expect(followed == ours.compactMap { Self.line($0.event) }, "the script saw every event of the job, in order:\n\(output)")
        #expect(followed.first == "job \(spec.id) accepted")
        #expect(followed.last?.hasPrefix("job \(spec.id) succeeded: patched 2, skipped 0, held 1") == true, "\(output)")
        #expect(followed.contains("host Dublin DUB-H1 done patched"))
        #expect(followed.contains { $0.hasPrefix("host Dublin DUB-H2 done held: ") }, "Rule 1 holds DUB-H2")

        // What the coordinator wrote is what the published schema says.
        let (library, root) = try Self.schemas()
        for event in ours {
            let result = library.validate(try JSONValue.parse(event.body), against: root, strict: true)
            #expect(result.isValid, "\(result.errors)")
        }
        let report = try await fleet.report(jobId: spec.id)
        #expect(report.isComplete)
        #expect(fleet.violations(report, policy: spec.policy).isEmpty, "\(fleet.violations(report, policy: spec.policy))")
    }

    /// The page's status script, for the example job, for the newest jobs and
    /// for a job that does not exist, prints what a PatchFleet client is told.
    func askAboutTheExampleJob(_ fleet: FleetHarness) async throws {
        let job = try JSONDecoder().decode(JobSubmission.self, from: Data(accepted.utf8)).job.id
        let (library, _) = try Self.schemas()
        let statusSchema = try library.root(DocsPage.docs.appendingPathComponent("schemas/job-status.schema.json").path)

        for question in [JobQuery(jobId: job), JobQuery(limit: 10)] {
            let (status, output) = try await askStatus(question.jobId, on: fleet)
            #expect(status == 0, "\(output)")
            let (reply, body) = try await ask(question, on: fleet)
            #expect(library.validate(try JSONValue.parse(body), against: statusSchema, strict: true).isValid, "\(String(decoding: body, as: UTF8.self))")
            #expect(output.split(separator: "\n").map(String.init) == Self.lines(reply), "the script prints the answer:\n\(output)")
            #expect(reply.jobs.contains { $0.id == job && $0.state == "finished" && $0.outcomes?["held"] == 1 }, "\(reply)")
        }
        let (status, output) = try await askStatus("chg0099-nothing", on: fleet)
        #expect(status == 1, "\(output)")
        #expect(output.contains("no answer: there is no job 'chg0099-nothing'"), "\(output)")
    }

    /// Asks the coordinator as a PatchFleet client does; the answer and its body.
    func ask(_ query: JobQuery, on fleet: FleetHarness) async throws -> (JobStatusReply, Data) {
        let answers = "\(fleet.topology.prefix).reply.\(UUID().uuidString.prefix(8).lowercased())"
        try await fleet.admin.declare(QueueSpec(answers, durable: false, exclusive: true, autoDelete: true))
        let consumer = try await fleet.admin.consume(queue: answers, prefetch: 1)
        let messageId = UUID().uuidString
        let question = fleet.topology.query(try WireEncoder.encode(query, envelope: query.envelope(messageId: messageId, replyTo: answers)))
        try await fleet.admin.publish(question.message, exchange: question.exchange, routingKey: question.routingKey,
                                      mandatory: question.mandatory)
        var iterator = consumer.makeAsyncIterator()
        let answer = try #require(try await iterator.next())
        answer.ack()
        await consumer.cancel()
        #expect(answer.properties.correlationId == messageId)
        #expect(answer.exchange == "")
        guard case .jobStatus(let reply, let envelope) = try WireDecoder().decode(answer) else {
            throw CommandFailed(description: "the answer is not a patchfleet.job.status")
        }
        #expect(envelope.causationId == messageId)
        return (reply, answer.body)
    }

    /// An answer as the page's jq program prints it.
    static func lines(_ reply: JobStatusReply) -> [String] {
        reply.jobs.map { job in
            "job \(job.id) \(job.state)"
                + (job.outcomes.map { outcomes in
                    ": " + outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                } ?? "")
                + (job.reason.map { " (\($0))" } ?? "")
        } + reply.hosts.compactMap { line(.host($0)) }
    }

    @Test func aRejectedSubmissionIsAnsweredOnTheEventsAndOnReplyTo() async throws {
        try await withFleet { fleet in try await rejectSubmissions(fleet) }
    }

    func rejectSubmissions(_ fleet: FleetHarness) async throws {
        let (library, root) = try Self.schemas()

        // The page's rejected example: a cluster the inventory does not have.
        var (status, output) = try await follow(rejected, on: fleet)
        try #require(status == 2, "the script's exit status for a rejection\n\(output)")
        let atlantis = try messageId(output, job: "chg0043-atlantis")
        #expect(output.contains("job chg0043-atlantis rejected: targets.clusters[1] names unknown cluster 'Atlantis'\n"), "\(output)")
        #expect(output.contains("answer to \(atlantis): 1 problem(s)\n"), "the answer on reply_to reached the script\n\(output)")
        let seen = try await fleet.events {
            if case .jobRejected(let rejection) = $0 { rejection.submissionMessageId == atlantis } else { false }
        }
        let event = try #require(seen.last)
        #expect(event.envelope.causationId == atlantis)
        #expect(library.validate(try JSONValue.parse(event.body), against: root, strict: true).isValid)

        // A misspelt option is a problem, never silently the default; every
        // problem is listed, each once.
        let typo = accepted.replacingOccurrences(of: "chg0042-dublin", with: "chg0044-typo")
            .replacingOccurrences(of: #""maxUnavailablePerCluster": 1"#, with: #""maxUnavailablePerClustr": 1, "maxFailedHosts": 0"#)
        (status, output) = try await follow(typo, on: fleet)
        #expect(status == 2, "\(output)")
        #expect(output.contains("job chg0044-typo rejected: policy.maxUnavailablePerClustr is not a known option; "
                                + "policy.maxFailedHosts must be >= 1\n"), "\(output)")

        // The answer's properties, which amqp-consume cannot show: submitted with
        // amqp-publish as the page does, the answer read here.
        let answers = "\(fleet.topology.prefix).answers"
        try await fleet.admin.declare(QueueSpec(answers, durable: false, exclusive: true, autoDelete: true))
        let consumer = try await fleet.admin.consume(queue: answers, prefetch: 1)
        let body = rejected.replacingOccurrences(of: "chg0043-atlantis", with: "chg0045-answer")
        _ = try await runCommand([
            "amqp-publish", "--url", FleetEndToEndTests.url,
            "--exchange", fleet.topology.controlExchange, "--routing-key", "job.submit",
            "--persistent", "--content-type", "application/json",
            "--header", "x-pf-message-id: sub-chg0045", "--reply-to", answers, "--body", body,
        ])
        var iterator = consumer.makeAsyncIterator()
        let answer = try #require(try await iterator.next())
        answer.ack()
        await consumer.cancel()
        #expect(answer.properties.correlationId == "sub-chg0045")
        #expect(answer.exchange == "")
        guard case .event(let rejection, let envelope) = try WireDecoder().decode(answer),
              case .jobRejected(let rejected) = rejection.event else {
            Issue.record("the answer is not a job.rejected event")
            return
        }
        #expect(rejected.submissionMessageId == "sub-chg0045")
        #expect(rejected.jobId == "chg0045-answer")
        #expect(envelope.causationId == "sub-chg0045")
        #expect(library.validate(try JSONValue.parse(answer.body), against: root, strict: true).isValid)
    }
}
