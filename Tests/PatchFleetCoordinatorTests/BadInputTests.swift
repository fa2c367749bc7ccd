import AMQP
import Foundation
import PatchFleetCore
import PatchFleetLab
import PatchFleetTestSupport
import PatchFleetWire
import Testing

/// Bad input sent to a running coordinator process (issue 6, item 2), while
/// a valid job runs on the same coordinator with its workers: every bad
/// message lands in the dead-letter queue with a reason naming the problem,
/// the sender hears it on `reply_to` when it said where, and the valid job
/// ends as if nothing had happened.
@Suite("Bad input to the coordinator process", .serialized, .timeLimit(.minutes(3)))
struct BadInputTests {
    @Test func everyBadMessageIsDeadLetteredWithItsReasonAndTheValidJobCompletes() async throws {
        // The valid job takes three of Seattle's four hosts, so a job for the
        // fourth shares the cluster but no host.
        let fleet = try await FleetHarness.start(timeScale: 2_000) { job in
            job.targets = JobTargets(hosts: ["SEA-H1", "SEA-H2", "SEA-H3"])
        }
        let replies = "\(fleet.topology.prefix).test-replies"
        try await fleet.admin.declare(QueueSpec(replies, durable: false, autoDelete: true))
        let answers = try await fleet.admin.consume(queue: replies, prefetch: 100)

        // The valid job, kept as sent so it can be republished byte for byte.
        var valid = try WireEncoder.encode(JobSubmission(job: fleet.job, requestedBy: "bad-input-test"), messageId: "valid")
        valid.properties.replyTo = replies
        try await fleet.publish(valid)

        // Paused right away, so it is certainly unfinished while the bad input
        // arrives (no race with its hosts); resumed once all of it is handled.
        try await fleet.control(.pause)
        // Behind it on the control queue (handled in order):
        let good = try JSONSerialization.jsonObject(with: valid.body) as! [String: Any]
        func edited(_ edit: (inout [String: Any]) -> Void) throws -> Data {
            var object = good
            edit(&object)
            return try JSONSerialization.data(withJSONObject: object)
        }
        func job(_ edit: (inout [String: Any]) -> Void) throws -> Data {
            try edited { body in
                var job = body["job"] as! [String: Any]
                edit(&job)
                body["job"] = job
            }
        }
        try await fleet.publishRaw(Data(#"{"schema":"patchfleet.job.submit","schemaVersion":1,"job":{"id":"#.utf8),
                                   messageId: "malformed-json", replyTo: replies)
        try await fleet.publishRaw(try job { job in
            var policy = job["policy"] as? [String: Any] ?? [:]
            policy["maxUnavailablePerCluster"] = "two"
            job["policy"] = policy
            job["id"] = "wrong-type-job"
        }, messageId: "wrong-type", replyTo: replies)
        try await fleet.publishRaw(try edited { $0["schemaVersion"] = 99 }, messageId: "unknown-version", replyTo: replies)
        try await fleet.publishRaw(try edited { $0["requestedBy"] = String(repeating: "x", count: WireDecoder.defaultMaxBodyBytes) },
                                   messageId: "oversized", replyTo: replies)
        try await fleet.publishRaw(try job { $0["id"] = "atlantis-job"; $0["targets"] = ["clusters": ["Atlantis"]] },
                                   messageId: "unknown-cluster", replyTo: replies)
        try await fleet.publishRaw(try job { $0["id"] = "ghost-host-job"; $0["targets"] = ["hosts": ["NO-SUCH-HOST"]] },
                                   messageId: "unknown-host", replyTo: replies)
        // Same cluster, other host (issue 6: "a job for a cluster already being patched").
        try await fleet.publishRaw(try job { $0["id"] = "sea-h4-job"; $0["targets"] = ["hosts": ["SEA-H4"]] },
                                   messageId: "busy-cluster", replyTo: replies)
        // The valid job's own message again (a redelivery, or its sender
        // republishing after a lost confirm): the same job, nothing to say.
        try await fleet.publish(valid)
        // Its job id under another message id: a different submission, refused.
        try await fleet.publishRaw(valid.body, messageId: "same-job-other-message", replyTo: replies)
        // Last on the control queue: everything before it has been handled
        // (and dead-lettered, in order) once its dead letter is there.
        try await fleet.publishRaw(Data("not json at all".utf8), messageId: "sentinel", replyTo: nil)
        // A result for a saga that does not exist, correctly signed so it
        // gets as far as the saga lookup.
        let ghost = ResultMessage(answering: SagaCommand(sagaId: "deleted-job:SEA-H1", jobId: "deleted-job", host: "SEA-H1",
                                                         cluster: "Seattle", sagaVersion: 1, issuedAt: Instant(secondsSinceEpoch: 0),
                                                         body: .observeCluster(HostRef(host: "SEA-H1"))),
                                  taskMessageId: "ghost-task", at: Instant(secondsSinceEpoch: 0),
                                  .clusterObserved(ClusterSnapshot(hosts: [], vms: [])))
        var ghostResult = try WireEncoder.encode(ghost, messageId: "ghost-result")
        try Keyring.load(path: fleet.storeDirectory.appendingPathComponent("keyring.yaml").path).sign(&ghostResult)
        let result = fleet.topology.result(ghostResult)
        try await fleet.admin.publish(result.message, exchange: result.exchange, routingKey: result.routingKey, mandatory: true)

        // Dead letters, until both the sentinel and the ghost result are in.
        var reasons: [String: String] = [:]
        let dead = try await fleet.admin.consume(queue: fleet.topology.deadQueue, prefetch: 50)
        var deadIterator = dead.makeAsyncIterator()
        while reasons["sentinel"] == nil || reasons["ghost-result"] == nil, let letter = try await deadIterator.next() {
            letter.ack()
            reasons[letter.properties.messageId ?? "?"] = DeadLetter(letter).reason
        }
        await dead.cancel()
        try await fleet.control(.resume)
        let expected: [String: String] = [
            "malformed-json": "not a JSON object",
            "wrong-type": "job.policy.maxUnavailablePerCluster",
            "unknown-version": "version 99 is not supported",
            "oversized": "over the limit of \(WireDecoder.defaultMaxBodyBytes) bytes",
            "unknown-cluster": "names unknown cluster 'Atlantis'",
            "unknown-host": "names unknown host 'NO-SUCH-HOST'",
            "busy-cluster": "cluster Seattle is already being patched by job \(fleet.job.id) (hosts not done: ",
            "same-job-other-message": "job id '\(fleet.job.id)' is already a paused job submitted in message 'valid'",
            "ghost-result": "saga deleted-job:SEA-H1 does not exist",
        ]
        for (id, words) in expected {
            #expect(reasons[id]?.contains(words) == true, "\(id): \(reasons[id] ?? "not dead-lettered")")
        }
        #expect(reasons["busy-cluster"]?.contains("SEA-H3") == true, "the other job's hosts are named")
        #expect(reasons["valid"] == nil, "the republished valid submission is the same job, not a refusal: \(reasons)")

        // The senders that named reply_to heard why, correlated by their message id.
        var answered: [String: JobRejection] = [:]
        var answerIterator = answers.makeAsyncIterator()
        let asked = Set(expected.keys).subtracting(["ghost-result"])
        while !asked.isSubset(of: answered.keys), let answer = try await answerIterator.next() {
            answer.ack()
            guard case .event(let event, _) = try WireDecoder().decode(answer), case .jobRejected(let rejection) = event.event else {
                Issue.record("an answer that is not a job.rejected event")
                continue
            }
            #expect(answer.properties.correlationId == rejection.submissionMessageId)
            answered[rejection.submissionMessageId] = rejection
        }
        await answers.cancel()
        for id in asked {
            let text = answered[id]?.problems.map(\.description).joined(separator: "; ") ?? ""
            #expect(text.contains(expected[id]!), "\(id) answered with: \(text)")
        }
        #expect(answered["wrong-type"]?.jobId == "wrong-type-job", "the job id, when the body names one readably")
        #expect(answered["wrong-type"]?.problems.first?.path == "job.policy.maxUnavailablePerCluster")
        #expect(answered["malformed-json"]?.jobId == nil)

        // The valid job ends, untouched by all of that, and the coordinator still answers.
        let seen = try await fleet.events { event in
            if case .job(let change) = event { change.jobId == fleet.job.id && [.succeeded, .failed, .cancelled].contains(change.state) }
            else { false }
        }
        let jobEvents = seen.compactMap { if case .job(let change) = $0.event, change.jobId == fleet.job.id { change.state } else { nil } }
        #expect(jobEvents.first == .accepted && jobEvents.filter { $0 == .accepted }.count == 1, "\(jobEvents)")
        #expect(jobEvents.contains(.paused) && jobEvents.contains(.running), "\(jobEvents)")
        #expect(jobEvents.last == .succeeded, "\(jobEvents)")
        #expect(!seen.contains { if case .jobRejected(let r) = $0.event { r.jobId == fleet.job.id } else { false } },
                "a rejection under the running job's id would tell its followers it was rejected")
        let report = try await fleet.report()
        #expect(report.isComplete && report.hosts.map(\.host).sorted() == ["SEA-H1", "SEA-H2", "SEA-H3"])
        #expect(report.hosts.allSatisfy { $0.outcome?.kind == .patched }, "\(report.hosts)")
        let jobs = try await runCommand([patchfleetExecutable(), "status"] + fleet.brokerArguments)
        #expect(jobs.split(separator: "\n").filter { $0.contains(fleet.job.id) }.count == 1, "one job: \(jobs)")
        for refused in ["wrong-type-job", "atlantis-job", "ghost-host-job", "sea-h4-job"] {
            #expect(!jobs.contains(refused), "\(jobs)")
        }

        // The lab's own invariant check (issue 4: the lab answers "check the
        // invariants"), asked over the broker like any other lab request.
        let lab = try await LabClient.connect(connection: fleet.admin, requestQueue: fleet.labQueue)
        let violations = try await lab.checkInvariants(report: report, policy: fleet.job.policy)
        #expect(violations.isEmpty, "\(violations)")
        #expect(violations == fleet.violations(report), "the lab checks what the test's own checker checks")
        try await fleet.stop()
    }
}

extension FleetHarness {
    /// A message to the control exchange as sent.
    func publish(_ message: AMQPMessage) async throws {
        let publication = topology.submission(message)
        try await admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                mandatory: true)
    }

    func control(_ action: JobControlRequest.Action) async throws {
        let request = JobControlRequest(jobId: job.id, action: action, reason: "bad-input test")
        let publication = topology.control(request, try WireEncoder.encode(request))
        try await admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                mandatory: true)
    }

    /// A hand-made submission body, with the properties a foreign client would set.
    func publishRaw(_ body: Data, messageId: String, replyTo: String?) async throws {
        try await publish(AMQPMessage(body: body, properties: AMQPProperties(
            contentType: "application/json", deliveryMode: .persistent, replyTo: replyTo, messageId: messageId)))
    }
}
