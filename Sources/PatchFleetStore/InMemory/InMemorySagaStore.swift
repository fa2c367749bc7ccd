import PatchFleetCore
import Synchronization

/// The saga store in memory, for pure coordinator tests: the same contract
/// as `SQLiteSagaStore` (one shared test suite runs against both), no disk.
/// One lock serialises every call; a failed call is undone from a journal
/// before the lock is released, so nobody sees half of it.
public final class InMemorySagaStore: SagaStore {
    private let content = Mutex(InMemoryContent())

    public init() {}

    /// Runs `body` as one transaction: all of it, or (if it throws) none of it.
    private func transaction<T>(_ body: (inout InMemoryContent) throws(SagaStoreError) -> T) throws(SagaStoreError) -> T {
        try content.withLock { (c: inout InMemoryContent) throws(SagaStoreError) -> T in
            c.begin()
            do throws(SagaStoreError) {
                return try body(&c)
            } catch {
                c.rollback()
                throw error
            }
        }
    }

    private func read<T>(_ body: (InMemoryContent) -> T) -> T {
        content.withLock { body($0) }
    }

    public func createJob(_ job: JobRecord, sagas: [HostSagaState], outbox: [OutboxMessage]) async throws(SagaStoreError) {
        try transaction { (c: inout InMemoryContent) throws(SagaStoreError) in try c.createJob(job, sagas: sagas, outbox: outbox) }
    }

    public func setJobState(jobId: String, to state: JobState, report: JobReport?, reason: String?,
                            at: Instant, outbox: [OutboxMessage]) async throws(SagaStoreError) {
        try transaction { (c: inout InMemoryContent) throws(SagaStoreError) in
            try c.setJobState(jobId: jobId, to: state, report: report, reason: reason, at: at, outbox: outbox)
        }
    }

    public func job(id: String) async throws(SagaStoreError) -> JobRecord? {
        read { $0.jobs[id]?.record }
    }

    public func jobs(limit: Int) async throws(SagaStoreError) -> [JobRecord] {
        read { c in Array(c.jobsInOrder.reversed().prefix(max(0, limit))) }
    }

    public func unfinishedJobs() async throws(SagaStoreError) -> [JobRecord] {
        read { c in c.jobsInOrder.filter { !$0.state.isTerminal } }
    }

    public func apply(_ transitions: [SagaTransition]) async throws(SagaStoreError) -> [ApplyResult] {
        try transaction { (c: inout InMemoryContent) throws(SagaStoreError) in
            var results: [ApplyResult] = []
            for transition in transitions { results.append(try c.apply(transition)) }
            return results
        }
    }

    public func saga(id: String) async throws(SagaStoreError) -> StoredSaga? {
        read { $0.sagas[id] }
    }

    public func sagas(jobId: String) async throws(SagaStoreError) -> [StoredSaga] {
        read { $0.sagas(ofJob: jobId) }
    }

    /// Same contract as the SQLite store: a known copy stands for a saga whose version has not moved.
    public func sagas(jobId: String, reusing known: [String: StoredSaga]) async throws(SagaStoreError) -> [StoredSaga] {
        read { $0.sagas(ofJob: jobId) }.map { saga in
            if let copy = known[saga.id], copy.version == saga.version { return copy }
            return saga
        }
    }

    public func sagasOfUnfinishedJobs() async throws(SagaStoreError) -> [StoredSaga] {
        read { c in c.jobsInOrder.filter { !$0.state.isTerminal }.flatMap { c.sagas(ofJob: $0.id) } }
    }

    public func pendingOutbox(limit: Int, readyAt: Instant?) async throws(SagaStoreError) -> [OutboxMessage] {
        read { c in
            Array(c.outbox.lazy
                .filter { $0.publishedAt == nil && (readyAt.map($0.message.isReady(at:)) ?? true) }
                .map(\.message)
                .prefix(max(0, limit)))
        }
    }

    @discardableResult
    public func markPublished(ids: [String], at: Instant) async throws(SagaStoreError) -> Int {
        let wanted = Set(ids)
        return try transaction { (c: inout InMemoryContent) throws(SagaStoreError) in
            var marked = 0
            for index in c.outbox.indices where c.outbox[index].publishedAt == nil && wanted.contains(c.outbox[index].message.id) {
                c.outbox[index].publishedAt = at
                marked += 1
            }
            return marked
        }
    }

    @discardableResult
    public func pruneInbox(olderThan cutoff: Instant) async throws(SagaStoreError) -> Int {
        try transaction { (c: inout InMemoryContent) throws(SagaStoreError) in
            let before = c.inbox.count
            c.inbox = c.inbox.filter { $0.value >= cutoff }
            return before - c.inbox.count
        }
    }

    @discardableResult
    public func prunePublishedOutbox(olderThan cutoff: Instant) async throws(SagaStoreError) -> Int {
        try transaction { (c: inout InMemoryContent) throws(SagaStoreError) in
            let before = c.outbox.count
            c.outbox.removeAll { $0.publishedAt.map { $0 < cutoff } ?? false }
            // A pruned id may be used again, as in the SQLite table.
            c.outboxIds = Set(c.outbox.map(\.message.id))
            return before - c.outbox.count
        }
    }
}
