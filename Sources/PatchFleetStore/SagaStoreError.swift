import PatchFleetCore

/// Everything the store refuses or fails at, each naming what is wrong.
public enum SagaStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A job with this id already exists (any state).
    case duplicateJob(jobId: String)
    /// The host is held by an unfinished saga of another job: that job is
    /// patching it (or its cluster) right now.
    case hostAlreadyHeld(host: String, sagaId: String, byJob: String)
    /// Two sagas with one id (one host twice in a job), or a saga that exists.
    case duplicateSaga(sagaId: String)
    /// A saga handed to `createJob` that belongs to another job.
    case sagaJobMismatch(sagaId: String, sagaJobId: String, jobId: String)
    /// A transition whose new state is another saga's.
    case sagaIdMismatch(sagaId: String, stateSagaId: String)
    case sagaNotFound(sagaId: String)
    case jobNotFound(jobId: String)
    /// `finished` and `rejected` are final.
    case jobFinalized(jobId: String, state: JobState)
    /// A job can only finish with its per-host report.
    case reportRequired(jobId: String)
    /// A job can only finish when every host saga has ended.
    case sagasUnfinished(jobId: String, sagaIds: [String])
    /// An outbox id already in the outbox (ids become AMQP message ids).
    case duplicateOutboxMessage(id: String)
    /// A transition whose new state does not keep the stored timeline as it
    /// is: a timeline only grows (`HostSaga.reduce` appends). The SQLite
    /// store sees fewer entries; the in-memory store also changed ones.
    case timelineRewritten(sagaId: String, stored: Int, given: Int)
    /// A row that cannot be read back (bad JSON, unknown enum value): names it.
    case corruptRow(table: String, key: String, detail: String)
    /// A value that could not be encoded for storage.
    case encodingFailed(what: String, detail: String)
    /// The database was written by a newer PatchFleet (unknown migrations).
    case schemaTooNew(path: String, detail: String)
    /// The calling task was cancelled; the transaction, if begun, rolled back.
    case cancelled
    /// Anything else from the database engine, with its own message.
    case database(detail: String)

    public var description: String {
        switch self {
        case .duplicateJob(let jobId):
            "job '\(jobId)' already exists"
        case .hostAlreadyHeld(let host, let sagaId, let byJob):
            "host '\(host)' is already being patched by job '\(byJob)' (saga '\(sagaId)')"
        case .duplicateSaga(let sagaId):
            "saga '\(sagaId)' already exists (is a host listed twice?)"
        case .sagaJobMismatch(let sagaId, let sagaJobId, let jobId):
            "saga '\(sagaId)' belongs to job '\(sagaJobId)', not '\(jobId)'"
        case .sagaIdMismatch(let sagaId, let stateSagaId):
            "transition for saga '\(sagaId)' carries the state of saga '\(stateSagaId)'"
        case .sagaNotFound(let sagaId):
            "no saga '\(sagaId)'"
        case .jobNotFound(let jobId):
            "no job '\(jobId)'"
        case .jobFinalized(let jobId, let state):
            "job '\(jobId)' is \(state.rawValue); its state can no longer change"
        case .reportRequired(let jobId):
            "job '\(jobId)' cannot finish without its report"
        case .sagasUnfinished(let jobId, let sagaIds):
            "job '\(jobId)' cannot finish: sagas still running: \(sagaIds.joined(separator: ", "))"
        case .duplicateOutboxMessage(let id):
            "outbox message id '\(id)' is already in the outbox"
        case .timelineRewritten(let sagaId, let stored, let given):
            "saga '\(sagaId)': a transition may only add entries to its timeline, not change or drop stored ones (\(stored) stored, the new state has \(given))"
        case .corruptRow(let table, let key, let detail):
            "unreadable row '\(key)' in table '\(table)': \(detail)"
        case .encodingFailed(let what, let detail):
            "cannot encode \(what): \(detail)"
        case .schemaTooNew(let path, let detail):
            "saga store '\(path)' was written by a newer PatchFleet: \(detail)"
        case .cancelled:
            "saga store call cancelled; nothing was written"
        case .database(let detail):
            "saga store database error: \(detail)"
        }
    }
}
