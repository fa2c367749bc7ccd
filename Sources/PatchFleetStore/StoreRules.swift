import PatchFleetCore

/// The checks both stores make the same way, so the contract has one source.
enum StoreRules {
    /// Sagas handed to `createJob` must be the job's and name each host once.
    static func checkNewSagas(_ sagas: [HostSagaState], jobId: String) throws(SagaStoreError) {
        var seen = Set<String>()
        for saga in sagas {
            guard saga.jobId == jobId else {
                throw .sagaJobMismatch(sagaId: saga.sagaId, sagaJobId: saga.jobId, jobId: jobId)
            }
            guard seen.insert(saga.sagaId).inserted else { throw .duplicateSaga(sagaId: saga.sagaId) }
        }
    }

    /// Outbox ids must be unique within one call too (the table refuses the
    /// second insert either way; this names it the same way in both stores).
    static func checkOutboxIds(_ messages: [OutboxMessage], against existing: Set<String> = []) throws(SagaStoreError) {
        var seen = existing
        for message in messages where !seen.insert(message.id).inserted {
            throw .duplicateOutboxMessage(id: message.id)
        }
    }

    /// A job may enter `state` given its sagas: final states are final,
    /// `finished` needs the report, and a job only ends (finished or rejected)
    /// when every saga has ended: an unfinished saga of an ended job would
    /// hold its host forever and never be resumed.
    static func checkJobState(jobId: String, from current: JobState?, to state: JobState, report: JobReport?,
                              unfinishedSagaIds: [String]) throws(SagaStoreError) {
        if let current, current.isTerminal { throw .jobFinalized(jobId: jobId, state: current) }
        guard state.isTerminal else { return }
        if state == .finished, report == nil { throw .reportRequired(jobId: jobId) }
        guard unfinishedSagaIds.isEmpty else { throw .sagasUnfinished(jobId: jobId, sagaIds: unfinishedSagaIds) }
    }

    static func checkTransition(_ transition: SagaTransition) throws(SagaStoreError) {
        guard transition.newState.sagaId == transition.sagaId else {
            throw .sagaIdMismatch(sagaId: transition.sagaId, stateSagaId: transition.newState.sagaId)
        }
    }
}
