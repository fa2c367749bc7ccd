import AMQP
import Foundation
import PatchFleetCore
@testable import PatchFleetWire
import Testing

@Suite("Message round trips")
struct MessageRoundTripTests {
    let decoder = WireDecoder()

    @Test(arguments: Fixtures.commandBodies)
    func taskRoundTrips(body: CommandBody) throws {
        let task = TaskMessage(Fixtures.command(body))
        let envelope = task.envelope(messageId: "t-\(body.kind)", causationId: "r-0", deadline: Fixtures.now.adding(seconds: 900))
        let message = try WireEncoder.encode(task, envelope: envelope)
        #expect(try decoder.decode(message) == .task(task, envelope))
        #expect(envelope.step == body.stepName)
        #expect(envelope.idempotencyKey == "job-1:hv01:\(body.stepName):7")
    }

    @Test(arguments: CommandKind.allCases)
    func resultRoundTrips(kind: CommandKind) throws {
        let command = Fixtures.command(try #require(Fixtures.commandBodies.first { $0.kind == kind }))
        let result = ResultMessage(answering: command, taskMessageId: "t-1", at: Fixtures.now, Fixtures.answer(to: kind))
        let envelope = result.envelope(messageId: "r-1", attempt: 2, traceparent: .random(), timestamp: 1_790_000_001)
        #expect(envelope.causationId == "t-1")
        let message = try WireEncoder.encode(result, envelope: envelope)
        #expect(try decoder.decode(message) == .result(result, envelope))
    }

    @Test func jobSubmissionRoundTrips() throws {
        let submission = JobSubmission(job: Fixtures.job, requestedBy: "change CHG0042")
        let envelope = submission.envelope(messageId: "sub-1", replyTo: "submitter.replies")
        let message = try WireEncoder.encode(submission, envelope: envelope)
        #expect(try decoder.decode(message) == .jobSubmission(submission, envelope))
        let json = try Fixtures.json(message)
        #expect(json["schema"] as? String == "patchfleet.job.submit")
        #expect(json["schemaVersion"] as? Int == 1)
    }

    @Test(arguments: JobControlRequest.Action.allCases)
    func jobControlRoundTrips(action: JobControlRequest.Action) throws {
        let control = JobControlRequest(jobId: "job-1", action: action, reason: "change freeze", requestedBy: "ops")
        let envelope = control.envelope(messageId: "c-1", traceparent: nil)
        #expect(try decoder.decode(try WireEncoder.encode(control, envelope: envelope)) == .jobControl(control, envelope))
    }

    @Test(arguments: Fixtures.events)
    func fleetEventRoundTrips(event: FleetEvent) throws {
        let envelope = event.envelope(messageId: "e-1", timestamp: 1_790_000_002)
        #expect(try decoder.decode(try WireEncoder.encode(event, envelope: envelope)) == .event(event, envelope))
    }

    @Test func bodiesAreStableBytesWithSortedKeys() throws {
        let task = Fixtures.taskMessage()
        let envelope = task.envelope(messageId: "t-1")
        let a = try WireEncoder.encode(task, envelope: envelope).body
        let b = try WireEncoder.encode(task, envelope: envelope).body
        #expect(a == b)
        let text = String(decoding: a, as: UTF8.self)
        #expect(text.hasPrefix(#"{"command":{"body":{"host":"hv01","kind":"rebootHost"},"cluster":"dc1.prod""#), "\(text)")
        #expect(text.hasSuffix(#""schema":"patchfleet.task","schemaVersion":1}"#), "\(text)")
    }

    @Test func encoderRefusesWhatTheDecoderWould() {
        var task = Fixtures.taskMessage()
        task.command.idempotencyKey = "forged"
        #expect(throws: WireError.self) { try WireEncoder.encode(task, envelope: task.envelope(messageId: "t")) }
        let good = Fixtures.taskMessage()
        var envelope = good.envelope(messageId: "t")
        envelope.traceparent = nil
        #expect(throws: WireError.missingHeader("traceparent")) { try WireEncoder.encode(good, envelope: envelope) }
    }

    @Test func timerIsAResultDelayedToTheCoordinator() throws {
        let topology = FleetTopology()
        let wake = TaskMessage(Fixtures.command(.wakeAt(WakeRequest(at: Fixtures.now.adding(seconds: 40), purpose: "poll"))))
        let publication = try topology.timer(wake, taskMessageId: "w-1", resultMessageId: "r-w-1",
                                             traceparent: .random(), now: Fixtures.now)
        #expect(publication.exchange == "patchfleet.delay")
        #expect(publication.routingKey == "coordinator")
        #expect(publication.message.properties.headers?["x-pf-delay-bucket"]?.stringValue == "60s")
        #expect(publication.message.properties.headers?["x-pf-delay-target"]?.stringValue == "results")
        guard case .result(let result, let envelope) = try decoder.decode(publication.message) else {
            Issue.record("not a result")
            return
        }
        #expect(result.event.body == .timerFired)
        #expect(result.event.now == Fixtures.now.adding(seconds: 40))
        #expect(envelope.notBefore == Fixtures.now.adding(seconds: 40))
        #expect(throws: WireError.self) { try topology.task(wake, publication.message) }
    }
}
