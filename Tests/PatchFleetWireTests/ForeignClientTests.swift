import AMQP
import Foundation
import PatchFleetCore
import PatchFleetWire
import PatchFleetTestSupport
import Testing

/// A job submitted by something that is not Swift, exactly as
/// docs/messages.md ("Submitting a job from another system") says:
/// Debian's `amqp-publish`, which can set headers but not `message_id`.
/// (docs/integrating.md's whole walkthrough, submitting and following a job
/// against a coordinator, runs in PatchFleetCoordinatorTests/IntegrationPageTests.)
@Suite("Submission from a non-Swift client", .timeLimit(.minutes(1)))
struct ForeignClientTests {
    static let body = #"""
    {"schema":"patchfleet.job.submit","schemaVersion":1,"requestedBy":"change CHG0042",
     "job":{"schemaVersion":1,"id":"job-2026-11-22-a","targets":{"clusters":["dc1.prod"]},
            "updates":{"updateIds":["KB5044284"]},"policy":{"maxUnavailablePerCluster":1}}}
    """#

    @Test func amqpPublishSubmissionIsDecoded() async throws {
        try await TestBroker.withFleet { fleet, connection in
            _ = try await runCommand([
                "amqp-publish", "--url", TestBroker.url,
                "--exchange", fleet.controlExchange, "--routing-key", "job.submit",
                "--persistent", "--content-type", "application/json",
                "--header", "x-pf-message-id: sub-2026-11-22-a",
                "--header", "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "--body", Self.body,
            ])
            let delivery = try await receiveOne(connection, from: fleet.jobsQueue)
            guard case .jobSubmission(let submission, let envelope) = try WireDecoder().decode(delivery) else {
                Issue.record("not decoded as a submission")
                return
            }
            #expect(envelope.messageId == "sub-2026-11-22-a")
            #expect(envelope.jobId == "job-2026-11-22-a")
            #expect(envelope.traceparent?.traceId == "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(submission.requestedBy == "change CHG0042")
            #expect(submission.job.targets.clusters == ["dc1.prod"])
            #expect(submission.validationProblems().isEmpty)

            // What arrived is what docs/asyncapi.yaml and the schema describe.
            let library = try PublishedSchemas.library()
            let headers = try library.location("#/components/schemas/submissionHeaders", from: PublishedSchemas.asyncAPIPath)
            let properties = library.validate(RenderedProperties.json(delivery.properties), against: headers)
            #expect(properties.isValid, "\(properties.errors)")
            let body = library.validate(try JSONValue.parse(delivery.body),
                                        against: try PublishedSchemas.root("job-submission.schema.json", library))
            #expect(body.isValid, "\(body.errors)")
            delivery.ack()
        }
    }
}
