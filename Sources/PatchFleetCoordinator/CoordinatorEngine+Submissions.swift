import PatchFleetCore
import PatchFleetStore

/// The two refusals a valid submission can still meet once its hosts are
/// known: its job id is taken, or its clusters are being patched.
extension CoordinatorEngine {
    /// A submission naming a job that exists. The job's inbox is the message
    /// id it was created from: the same message again (a redelivery before
    /// the ack, a sender republishing after a lost confirm) is that job and
    /// changes nothing. Another message with the id is a different
    /// submission, and the sender must hear it was not taken: rejected if
    /// the job ended, refused quietly if it runs (see `SubmitOutcome.refused`).
    func duplicateJobId(_ jobId: String, messageId: String) async -> SubmitOutcome {
        let existing: JobRecord?
        do { existing = try await store.job(id: jobId) } catch {
            return await reject(jobId, messageId: messageId, [ValidationProblem(path: "", message: "cannot read the store: \(error)")])
        }
        guard let existing else { return .duplicate }  // cannot happen: the store just said it exists
        // A job stored before message ids were recorded: the job id is all there is.
        if existing.submissionMessageId == messageId || existing.submissionMessageId == nil { return .duplicate }
        let from = "submitted in message '\(existing.submissionMessageId ?? "")', not this one ('\(messageId)')"
        if existing.state.isTerminal {
            return await reject(jobId, messageId: messageId, [ValidationProblem(
                path: "id", message: "job id '\(jobId)' was already used by a job that is \(existing.state.rawValue) (\(from)); submit under a new id")])
        }
        let problems = [ValidationProblem(
            path: "id", message: "job id '\(jobId)' is already a \(existing.state.rawValue) job \(from); nothing was changed: "
                + "follow that job, or resend the very same message to retry")]
        logger.warning("job \(jobId): another submission with its id refused: \(problems[0].message)")
        return .refused(problems)
    }

    /// The clusters of `targets` on which another unfinished job still has
    /// hosts to do: a cluster is patched by one job at a time, so two jobs
    /// never interleave hosts of one cluster (each would count the other's
    /// host as capacity already lost, and a person reading either job would
    /// see only half of what happened to the cluster). The host-level rule
    /// in the store still covers standalone hosts.
    func busyClusters(_ targets: [TargetHost], jobId: String) async throws(SagaStoreError) -> [ValidationProblem] {
        let wanted = Set(targets.compactMap(\.cluster))
        guard !wanted.isEmpty else { return [] }
        var busy: [String: [String: [String]]] = [:]  // cluster -> other job -> its unfinished hosts
        for saga in try await store.sagasOfUnfinishedJobs() where !saga.state.isDone && saga.state.jobId != jobId {
            guard let cluster = saga.state.cluster, wanted.contains(cluster) else { continue }
            busy[cluster, default: [:]][saga.state.jobId, default: []].append(saga.state.host)
        }
        return busy.keys.sorted().flatMap { cluster in
            busy[cluster, default: [:]].keys.sorted().map { other in
                ValidationProblem(path: "targets", message: "cluster \(cluster) is already being patched by job \(other) "
                    + "(hosts not done: \(busy[cluster, default: [:]][other, default: []].sorted().joined(separator: ", "))); "
                    + "submit once that job has ended")
            }
        }
    }
}
