import Foundation
import PatchFleetCore

/// A patch job sent to the coordinator (routing key `job.submit` on the
/// control exchange). Other systems send this; see docs/messages.md.
public struct JobSubmission: WireMessage {
    public static let schema = MessageSchema.jobSubmit
    /// Submitters are other systems: only the message id is demanded of the
    /// envelope; the job id comes from the body.
    public static let requiredHeaders: Set<EnvelopeField> = []

    public var job: JobSpec
    /// Who asked (a person or a system), for the report and the audit trail.
    public var requestedBy: String?

    public init(job: JobSpec, requestedBy: String? = nil) {
        self.job = job
        self.requestedBy = requestedBy
    }

    public var envelopeFacts: EnvelopeFacts { EnvelopeFacts(jobId: job.id) }

    /// Structure only. Whether the job makes sense (targets, policy limits)
    /// is `JobSpecValidator`'s call, made by the coordinator, whose answer is
    /// a `job.rejected` event rather than a dead letter.
    public func validate() throws(WireError) {
        try FieldCheck.nonEmpty(job.id, "job.id")
        guard job.schemaVersion == JobSpec.currentSchemaVersion else {
            throw .invalidField(path: "job.schemaVersion",
                                reason: "is \(job.schemaVersion); supported: \(JobSpec.currentSchemaVersion)")
        }
    }

    /// The coordinator's verdict on the job, ready for a `job.rejected` event.
    /// Prefer `validationProblems(body:)` when the raw body is at hand: only
    /// it can see misspelt options, which decoding has already dropped.
    public func validationProblems() -> [ValidationProblem] { JobSpecValidator.validate(job) }

    static let knownKeys: Set<String> = ["schema", "schemaVersion", "job", "requestedBy"]

    /// Every problem with a submission body, the way `patchfleet submit FILE`
    /// reports a job file: options PatchFleet does not know (a typo must not
    /// silently fall back to a default), then the validator's findings.
    /// Paths inside the job are the job file's own (`policy.maxFailedHosts`).
    /// Meant for a body `WireDecoder` accepted; otherwise the decoder's error
    /// is the one to report.
    public static func validationProblems(body: Data) -> [ValidationProblem] {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let job = object["job"], let jobData = try? JSONSerialization.data(withJSONObject: job)
        else { return [ValidationProblem(path: "job", message: "is not a JSON object")] }
        var problems = object.keys.sorted().filter { !knownKeys.contains($0) }.map {
            ValidationProblem(path: $0, message: "is not a known option")
        }
        do {
            _ = try JobSpecLoader.load(String(decoding: jobData, as: UTF8.self), format: .json)
        } catch {
            problems += error.problems
        }
        return problems
    }
}
