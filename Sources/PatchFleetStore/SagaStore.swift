import PatchFleetCore

/// The coordinator's durable saga store.
///
/// Every mutating call is ONE transaction: either all of it is durable or
/// none of it is. That is what makes the coordinator's loop safe:
/// - a result's inbox row, the saga's new state and the tasks it causes
///   (outbox) commit together, so no task is lost (the outbox survives a
///   crash) and none is acted on twice with effect (a redelivered result
///   finds its inbox row and is a `.duplicate`);
/// - optimistic concurrency (`expectedVersion`) means a transition computed
///   from an old read never overwrites a newer state.
///
/// Methods are `async` so a networked store (PostgreSQL) can implement the
/// same protocol without blocking threads; errors are always `SagaStoreError`.
/// Timestamps are inputs: the store never reads a clock.
public protocol SagaStore: Sendable {
    // MARK: Jobs

    /// Records an accepted job with all its host sagas (store version 0) and
    /// any messages (e.g. the `job.accepted` event), in one transaction.
    /// Refuses a duplicate job id (`.duplicateJob`) and a host that an
    /// unfinished saga of another job holds (`.hostAlreadyHeld`).
    func createJob(_ job: JobRecord, sagas: [HostSagaState], outbox: [OutboxMessage]) async throws(SagaStoreError)

    /// Moves a job to `state` with its outbox messages (events) in one
    /// transaction. Refuses changes to a final job (`.jobFinalized`); `finished`
    /// needs the report (`.reportRequired`); `finished` and `rejected` need
    /// every saga done (`.sagasUnfinished`).
    func setJobState(jobId: String, to state: JobState, report: JobReport?, reason: String?,
                     at: Instant, outbox: [OutboxMessage]) async throws(SagaStoreError)

    func job(id: String) async throws(SagaStoreError) -> JobRecord?
    /// The most recently submitted jobs first.
    func jobs(limit: Int) async throws(SagaStoreError) -> [JobRecord]
    /// Jobs not finished or rejected, oldest first: what to resume after a restart.
    func unfinishedJobs() async throws(SagaStoreError) -> [JobRecord]

    // MARK: Sagas

    /// Applies transitions in order, in ONE transaction. Each one is checked
    /// against the state left by the ones before it (two transitions of one
    /// saga chain), and yields `.applied`, `.duplicate` (inbox hit: nothing
    /// written for it) or `.staleVersion` (nothing written for it). A thrown
    /// error (unknown saga, duplicate outbox id, database failure) rolls back
    /// the whole batch.
    func apply(_ transitions: [SagaTransition]) async throws(SagaStoreError) -> [ApplyResult]

    func saga(id: String) async throws(SagaStoreError) -> StoredSaga?
    /// A job's sagas in the order they were created.
    func sagas(jobId: String) async throws(SagaStoreError) -> [StoredSaga]
    /// The same, taking from `known` (the caller's last read, by saga id)
    /// every saga whose store version has not moved, so only changed sagas
    /// are decoded: a scheduler tick on 2,000 hosts spent a third of the
    /// coordinator's CPU decoding unchanged sagas (docs/benchmarks.md).
    func sagas(jobId: String, reusing known: [String: StoredSaga]) async throws(SagaStoreError) -> [StoredSaga]
    /// Every saga (done or not) of every unfinished job, by job then creation
    /// order: the coordinator's whole working set after a restart.
    func sagasOfUnfinishedJobs() async throws(SagaStoreError) -> [StoredSaga]

    // MARK: Outbox

    /// Unpublished messages in insertion order, at most `limit`. With
    /// `readyAt`, messages whose `notBefore` is later are left out.
    func pendingOutbox(limit: Int, readyAt: Instant?) async throws(SagaStoreError) -> [OutboxMessage]
    /// Marks messages published (after the broker confirmed them). Unknown or
    /// already-published ids are ignored, so a retry is harmless. Returns how
    /// many were newly marked.
    @discardableResult
    func markPublished(ids: [String], at: Instant) async throws(SagaStoreError) -> Int

    // MARK: Retention

    /// Deletes inbox rows received before `cutoff`. Keep them longer than the
    /// broker can redeliver a message (delivery limit x redelivery delay, and
    /// the longest delayed-poll TTL): a redelivery older than the retained
    /// inbox would be applied again if the saga version still matched.
    @discardableResult
    func pruneInbox(olderThan cutoff: Instant) async throws(SagaStoreError) -> Int
    /// Deletes outbox rows published before `cutoff`; pending rows are never deleted.
    @discardableResult
    func prunePublishedOutbox(olderThan cutoff: Instant) async throws(SagaStoreError) -> Int
}

extension SagaStore {
    public func sagas(jobId: String, reusing known: [String: StoredSaga]) async throws(SagaStoreError) -> [StoredSaga] {
        try await sagas(jobId: jobId)
    }

    /// Applies the state change a received message caused, deduplicated by
    /// the message id.
    public func apply(inboxMessageId: String, receivedAt: Instant, sagaId: String, expectedVersion: Int,
                      newState: HostSagaState, outbox: [OutboxMessage]) async throws(SagaStoreError) -> ApplyResult {
        try await applyOne(SagaTransition(inboxMessageId: inboxMessageId, sagaId: sagaId, expectedVersion: expectedVersion,
                                          newState: newState, outbox: outbox, at: receivedAt))
    }

    /// Applies a coordinator-internal state change (scheduler start, timer):
    /// no message, so no inbox row; optimistic concurrency still applies.
    public func apply(sagaId: String, expectedVersion: Int, newState: HostSagaState,
                      outbox: [OutboxMessage], at: Instant) async throws(SagaStoreError) -> ApplyResult {
        try await applyOne(SagaTransition(inboxMessageId: nil, sagaId: sagaId, expectedVersion: expectedVersion,
                                          newState: newState, outbox: outbox, at: at))
    }

    /// Every unpublished message, ready or not.
    public func pendingOutbox(limit: Int) async throws(SagaStoreError) -> [OutboxMessage] {
        try await pendingOutbox(limit: limit, readyAt: nil)
    }

    public func createJob(_ job: JobRecord, sagas: [HostSagaState]) async throws(SagaStoreError) {
        try await createJob(job, sagas: sagas, outbox: [])
    }

    private func applyOne(_ transition: SagaTransition) async throws(SagaStoreError) -> ApplyResult {
        let results = try await apply([transition])
        guard let result = results.first else {
            throw .database(detail: "apply returned no result for saga '\(transition.sagaId)'")
        }
        return result
    }
}
