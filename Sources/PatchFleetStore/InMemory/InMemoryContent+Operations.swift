import PatchFleetCore

/// The store's operations on the in-memory content, checked exactly as the
/// SQLite store checks them (shared rules in `StoreRules`).
extension InMemoryContent {
    mutating func createJob(_ job: JobRecord, sagas newSagas: [HostSagaState], outbox messages: [OutboxMessage]) throws(SagaStoreError) {
        guard jobs[job.id] == nil else { throw .duplicateJob(jobId: job.id) }
        try StoreRules.checkNewSagas(newSagas, jobId: job.id)
        try StoreRules.checkJobState(jobId: job.id, from: nil, to: job.state, report: job.report,
                                     unfinishedSagaIds: newSagas.filter { !$0.isDone }.map(\.sagaId))
        for saga in newSagas {
            guard sagas[saga.sagaId] == nil else { throw .duplicateSaga(sagaId: saga.sagaId) }
            if !saga.isDone, let holder = unfinishedSaga(onHost: saga.host) {
                throw .hostAlreadyHeld(host: saga.host, sagaId: holder.sagaId, byJob: holder.jobId)
            }
        }
        setJob(job.id, JobEntry(record: job, sagaIds: newSagas.map(\.sagaId)))
        for saga in newSagas {
            setSaga(StoredSaga(state: saga, version: 0, updatedAt: job.submittedAt))
        }
        try appendOutbox(messages)
    }

    mutating func setJobState(jobId: String, to state: JobState, report: JobReport?, reason: String?,
                              at: Instant, outbox messages: [OutboxMessage]) throws(SagaStoreError) {
        guard var entry = jobs[jobId] else { throw .jobNotFound(jobId: jobId) }
        let unfinished = sagas(ofJob: jobId).filter { !$0.state.isDone }.map(\.id)
        try StoreRules.checkJobState(jobId: jobId, from: entry.record.state, to: state, report: report,
                                     unfinishedSagaIds: unfinished)
        entry.record.state = state
        entry.record.updatedAt = at
        entry.record.report = report
        entry.record.reason = reason
        setJob(jobId, entry)
        try appendOutbox(messages)
    }

    mutating func apply(_ transition: SagaTransition) throws(SagaStoreError) -> ApplyResult {
        try StoreRules.checkTransition(transition)
        if let messageId = transition.inboxMessageId, inbox[messageId] != nil { return .duplicate }
        guard let current = sagas[transition.sagaId] else { throw .sagaNotFound(sagaId: transition.sagaId) }
        guard current.version == transition.expectedVersion else { return .staleVersion(current: current.version) }
        // Reopening an ended saga must not take a host another job now holds.
        let state = transition.newState
        if current.state.isDone, !state.isDone, let holder = unfinishedSaga(onHost: state.host),
           holder.sagaId != transition.sagaId {
            throw .hostAlreadyHeld(host: state.host, sagaId: holder.sagaId, byJob: holder.jobId)
        }
        // Timelines only grow; the SQLite store appends rows on that promise.
        if let stored = current.state.timeline {
            guard let given = state.timeline, given.count >= stored.count, given.starts(with: stored) else {
                throw .timelineRewritten(sagaId: transition.sagaId, stored: stored.count, given: state.timeline?.count ?? 0)
            }
        }
        let next = StoredSaga(state: state, version: current.version + 1, updatedAt: transition.at)
        setSaga(next)
        if let messageId = transition.inboxMessageId { recordInbox(messageId, at: transition.at) }
        try appendOutbox(transition.outbox)
        return .applied(newVersion: next.version)
    }
}
