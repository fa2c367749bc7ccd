import AMQP
import Foundation
import PatchFleetCore
import PatchFleetWire

/// How a refused submission is answered. The `job.rejected` event goes to
/// the events exchange (routed by job id) unless told otherwise; the same
/// message goes to the submission's `reply_to`, correlated by its message id.
extension CoordinatorService {
    /// `announce: false` answers the sender only: used when the job id is
    /// not the sender's to speak for (a running job's, or one read from a
    /// body the decoder refused).
    func publishRejection(jobId: String?, messageId: String, replyTo: String?, problems: [ValidationProblem],
                          announce: Bool) async {
        let event = FleetEvent(at: now(), .jobRejected(JobRejection(jobId: jobId, submissionMessageId: messageId,
                                                                    problems: problems)))
        do {
            let message = try WireEncoder.encode(event, causationId: messageId)
            if announce {
                let publication = try topology.event(event, message)
                try await connection.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey)
            }
            if let replyTo, !replyTo.isEmpty {
                let answer = topology.answer(message, replyTo: replyTo, correlationId: messageId)
                try await connection.publish(answer.message, exchange: answer.exchange, routingKey: answer.routingKey)
            }
        } catch {
            logger.error("could not publish the rejection of job \(jobId ?? "(unnamed)"): \(error)")
        }
    }

    /// A submission the decoder refused still gets an answer when its
    /// properties say where to send one (`reply_to`) and what it answers
    /// (a message id): the decoder's reason, and the job id if the body
    /// names one readably. No event: nothing in such a body can be trusted
    /// to route one. Anything else on the control queue (cancel, pause,
    /// resume) is only dead-lettered, as before.
    func answerUndecodableSubmission(_ delivery: AMQPDelivery, error: WireError) async {
        guard delivery.routingKey == "job.submit",
              let replyTo = delivery.properties.replyTo, !replyTo.isEmpty,
              let messageId = Self.messageId(delivery.properties) else { return }
        await publishRejection(jobId: Self.probeJobId(delivery.body), messageId: messageId, replyTo: replyTo,
                               problems: [Self.problem(error)], announce: false)
    }

    /// The decoder's reason as a rejection problem, with the field's path when it names one.
    static func problem(_ error: WireError) -> ValidationProblem {
        switch error {
        case .missingField(let path), .invalidField(let path, _): ValidationProblem(path: path, message: error.description)
        default: ValidationProblem(path: "", message: error.description)
        }
    }

    /// The message id as the envelope would read it (property, else header), if readable.
    static func messageId(_ properties: AMQPProperties) -> String? {
        if let id = properties.messageId, !id.isEmpty { return id }
        if let id = properties.headers?[EnvelopeHeader.messageId]?.stringValue, !id.isEmpty { return id }
        return nil
    }

    /// `job.id` of a body that is JSON enough to have one; only ever echoed
    /// back to the sender, never used to route or look anything up.
    static func probeJobId(_ body: Data) -> String? {
        guard body.count <= WireDecoder.defaultMaxBodyBytes,
              let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let job = object["job"] as? [String: Any], let id = job["id"] as? String, !id.isEmpty else { return nil }
        return String(id.prefix(200))
    }
}
