import GRDB
import PatchFleetCore

extension SQLiteSagaStore {
    public func createJob(_ job: JobRecord, sagas: [HostSagaState], outbox: [OutboxMessage]) async throws(SagaStoreError) {
        try await write { try SQLiteWrites.createJob($0, job, sagas: sagas, outbox: outbox) }
    }

    public func setJobState(jobId: String, to state: JobState, report: JobReport?, reason: String?,
                            at: Instant, outbox: [OutboxMessage]) async throws(SagaStoreError) {
        try await write {
            try SQLiteWrites.setJobState($0, jobId: jobId, to: state, report: report, reason: reason, at: at, outbox: outbox)
        }
    }

    public func job(id: String) async throws(SagaStoreError) -> JobRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]).map(SQLiteRows.job)
        }
    }

    public func jobs(limit: Int) async throws(SagaStoreError) -> [JobRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM jobs ORDER BY seq DESC LIMIT ?", arguments: [max(0, limit)])
                .map(SQLiteRows.job)
        }
    }

    public func unfinishedJobs() async throws(SagaStoreError) -> [JobRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM jobs WHERE state NOT IN ('finished', 'rejected') ORDER BY seq")
                .map(SQLiteRows.job)
        }
    }

    public func apply(_ transitions: [SagaTransition]) async throws(SagaStoreError) -> [ApplyResult] {
        try await write { db in try transitions.map { try SQLiteWrites.apply(db, $0) } }
    }

    public func saga(id: String) async throws(SagaStoreError) -> StoredSaga? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM sagas WHERE id = ?", arguments: [id]).map { try SQLiteRows.saga($0, db) }
        }
    }

    public func sagas(jobId: String) async throws(SagaStoreError) -> [StoredSaga] {
        try await read { db in
            let timelines = try SQLiteTimeline.entriesBySaga(db, sagasWhere: "job_id = ?", arguments: [jobId])
            return try Row.fetchAll(db, sql: "SELECT * FROM sagas WHERE job_id = ? ORDER BY seq", arguments: [jobId])
                .map { try SQLiteRows.saga($0, db, timelines: timelines) }
        }
    }

    public func sagas(jobId: String, reusing known: [String: StoredSaga]) async throws(SagaStoreError) -> [StoredSaga] {
        try await read { db in
            // Ids and versions first (no JSON); one read transaction, so the
            // rows fetched after are of the same moment.
            let current = try Row.fetchAll(db, sql: "SELECT id, version FROM sagas WHERE job_id = ? ORDER BY seq", arguments: [jobId])
            return try current.map { row -> StoredSaga in
                let id: String = row["id"]
                if let cached = known[id], cached.version == row["version"] as Int { return cached }
                guard let fresh = try Row.fetchOne(db, sql: "SELECT * FROM sagas WHERE id = ?", arguments: [id]) else {
                    throw SagaStoreError.sagaNotFound(sagaId: id)
                }
                return try SQLiteRows.saga(fresh, db)
            }
        }
    }

    public func sagasOfUnfinishedJobs() async throws(SagaStoreError) -> [StoredSaga] {
        try await read { db in
            let timelines = try SQLiteTimeline.entriesBySaga(
                db, sagasWhere: "job_id IN (SELECT id FROM jobs WHERE state NOT IN ('finished', 'rejected'))", arguments: [])
            return try Row.fetchAll(db, sql: """
                SELECT sagas.* FROM sagas JOIN jobs ON jobs.id = sagas.job_id
                WHERE jobs.state NOT IN ('finished', 'rejected')
                ORDER BY jobs.seq, sagas.seq
                """).map { try SQLiteRows.saga($0, db, timelines: timelines) }
        }
    }

    public func pendingOutbox(limit: Int, readyAt: Instant?) async throws(SagaStoreError) -> [OutboxMessage] {
        try await read { db in
            if let readyAt {
                try Row.fetchAll(db, sql: """
                    SELECT * FROM outbox WHERE published_at IS NULL AND (not_before IS NULL OR not_before <= ?)
                    ORDER BY seq LIMIT ?
                    """, arguments: [readyAt.secondsSinceEpoch, max(0, limit)]).map(SQLiteRows.outbox)
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT ?",
                                 arguments: [max(0, limit)]).map(SQLiteRows.outbox)
            }
        }
    }

    @discardableResult
    public func markPublished(ids: [String], at: Instant) async throws(SagaStoreError) -> Int {
        try await write { db in
            var marked = 0
            for id in ids {
                try db.execute(sql: "UPDATE outbox SET published_at = ? WHERE id = ? AND published_at IS NULL",
                               arguments: [at.secondsSinceEpoch, id])
                marked += db.changesCount
            }
            return marked
        }
    }

    @discardableResult
    public func pruneInbox(olderThan cutoff: Instant) async throws(SagaStoreError) -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM inbox WHERE received_at < ?", arguments: [cutoff.secondsSinceEpoch])
            return db.changesCount
        }
    }

    @discardableResult
    public func prunePublishedOutbox(olderThan cutoff: Instant) async throws(SagaStoreError) -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < ?",
                           arguments: [cutoff.secondsSinceEpoch])
            return db.changesCount
        }
    }
}
