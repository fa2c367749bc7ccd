import PatchFleetCore

/// The whole content of an `InMemorySagaStore`.
///
/// Transactions mutate in place and keep an undo journal of the first
/// previous value of every key they touch; a failure restores those. (Copying
/// the whole content per transaction would make every apply O(fleet size).)
/// Every mutation a throwing operation makes goes through the journaled
/// setters below; operations that cannot throw (marking, pruning) need none.
struct InMemoryContent: Sendable {
    struct JobEntry: Sendable {
        var record: JobRecord
        var sagaIds: [String]
    }

    struct OutboxEntry: Sendable {
        var message: OutboxMessage
        var publishedAt: Instant?
    }

    private(set) var jobs: [String: JobEntry] = [:]
    private(set) var jobOrder: [String] = []
    private(set) var sagas: [String: StoredSaga] = [:]
    /// message id -> received at
    var inbox: [String: Instant] = [:]
    var outbox: [OutboxEntry] = []
    var outboxIds: Set<String> = []
    /// host -> the unfinished saga holding it: the in-memory twin of the
    /// SQLite partial unique index `sagas_unfinished_host`.
    private(set) var heldHosts: [String: String] = [:]
    private var journal = Journal()

    var jobsInOrder: [JobRecord] { jobOrder.compactMap { jobs[$0]?.record } }

    func sagas(ofJob jobId: String) -> [StoredSaga] {
        (jobs[jobId]?.sagaIds ?? []).compactMap { sagas[$0] }
    }

    func unfinishedSaga(onHost host: String) -> HostSagaState? {
        heldHosts[host].flatMap { sagas[$0]?.state }
    }

    // MARK: Transactions

    mutating func begin() { journal = Journal() }

    mutating func rollback() {
        for (id, old) in journal.jobs { jobs[id] = old }
        for (id, old) in journal.sagas { sagas[id] = old }
        for (host, old) in journal.heldHosts { heldHosts[host] = old }
        for id in journal.inboxAdded { inbox[id] = nil }
        for id in journal.outboxIdsAdded { outboxIds.remove(id) }
        if let count = journal.jobOrderCount { jobOrder.removeLast(jobOrder.count - count) }
        if let count = journal.outboxCount { outbox.removeLast(outbox.count - count) }
        journal = Journal()
    }

    // MARK: Journaled mutations

    mutating func setJob(_ id: String, _ entry: JobEntry) {
        if journal.jobs.index(forKey: id) == nil { journal.jobs[id] = jobs[id] }
        if jobs[id] == nil {
            if journal.jobOrderCount == nil { journal.jobOrderCount = jobOrder.count }
            jobOrder.append(id)
        }
        jobs[id] = entry
    }

    mutating func setSaga(_ saga: StoredSaga) {
        if journal.sagas.index(forKey: saga.id) == nil { journal.sagas[saga.id] = sagas[saga.id] }
        sagas[saga.id] = saga
        let host = saga.state.host
        if journal.heldHosts.index(forKey: host) == nil { journal.heldHosts[host] = heldHosts[host] }
        if !saga.state.isDone {
            heldHosts[host] = saga.id
        } else if heldHosts[host] == saga.id {
            heldHosts[host] = nil
        }
    }

    mutating func recordInbox(_ messageId: String, at: Instant) {
        journal.inboxAdded.append(messageId)
        inbox[messageId] = at
    }

    mutating func appendOutbox(_ messages: [OutboxMessage]) throws(SagaStoreError) {
        try StoreRules.checkOutboxIds(messages, against: outboxIds)
        if journal.outboxCount == nil { journal.outboxCount = outbox.count }
        for message in messages {
            outboxIds.insert(message.id)
            journal.outboxIdsAdded.append(message.id)
            outbox.append(OutboxEntry(message: message, publishedAt: nil))
        }
    }
}

/// The first previous value of everything a transaction touched.
private struct Journal: Sendable {
    /// nil value = the key did not exist.
    var jobs: [String: InMemoryContent.JobEntry?] = [:]
    var sagas: [String: StoredSaga?] = [:]
    var heldHosts: [String: String?] = [:]
    var inboxAdded: [String] = []
    var outboxIdsAdded: [String] = []
    var jobOrderCount: Int?
    var outboxCount: Int?
}
