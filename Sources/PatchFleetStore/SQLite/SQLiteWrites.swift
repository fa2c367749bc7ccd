import Foundation
import GRDB
import PatchFleetCore

/// The statements each transaction runs. Every function here runs inside a
/// transaction opened by `SQLiteSagaStore`; a thrown error rolls all of it back.
enum SQLiteWrites {
    static func createJob(_ db: Database, _ job: JobRecord, sagas: [HostSagaState], outbox: [OutboxMessage]) throws {
        if try Bool.fetchOne(db, sql: "SELECT 1 FROM jobs WHERE id = ?", arguments: [job.id]) == true {
            throw SagaStoreError.duplicateJob(jobId: job.id)
        }
        try StoreRules.checkNewSagas(sagas, jobId: job.id)
        try StoreRules.checkJobState(jobId: job.id, from: nil, to: job.state, report: job.report,
                                     unfinishedSagaIds: sagas.filter { !$0.isDone }.map(\.sagaId))
        try db.execute(
            sql: """
                INSERT INTO jobs (id, state, spec_json, report_json, reason, submitted_at, updated_at, submission_message_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [job.id, job.state.rawValue, try StoreJSON.encode(job.spec, what: "job '\(job.id)' spec"),
                        try job.report.map { (r: JobReport) throws(SagaStoreError) in try StoreJSON.encode(r, what: "job '\(job.id)' report") },
                        job.reason, job.submittedAt.secondsSinceEpoch, job.updatedAt.secondsSinceEpoch,
                        job.submissionMessageId])
        for saga in sagas {
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM sagas WHERE id = ?", arguments: [saga.sagaId]) == true {
                throw SagaStoreError.duplicateSaga(sagaId: saga.sagaId)
            }
            if !saga.isDone { try checkHostFree(db, saga.host, except: saga.sagaId) }
            let (stateJSON, timelineLength) = try SQLiteTimeline.write(db, saga, storedLength: nil)
            try db.execute(
                sql: """
                    INSERT INTO sagas (id, job_id, host, cluster, phase, done, version, saga_version, state_json,
                                       timeline_length, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)
                    """,
                arguments: [saga.sagaId, saga.jobId, saga.host, saga.cluster, saga.phase.rawValue, saga.isDone,
                            saga.version, stateJSON, timelineLength,
                            job.submittedAt.secondsSinceEpoch, job.submittedAt.secondsSinceEpoch])
        }
        try insertOutbox(db, outbox, sagaId: nil, sagaStoreVersion: nil)
    }

    static func setJobState(_ db: Database, jobId: String, to state: JobState, report: JobReport?, reason: String?,
                            at: Instant, outbox: [OutboxMessage]) throws {
        guard let stateText = try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE id = ?", arguments: [jobId]) else {
            throw SagaStoreError.jobNotFound(jobId: jobId)
        }
        guard let current = JobState(rawValue: stateText) else {
            throw SagaStoreError.corruptRow(table: "jobs", key: jobId, detail: "unknown job state '\(stateText)'")
        }
        let unfinished = try String.fetchAll(
            db, sql: "SELECT id FROM sagas WHERE job_id = ? AND done = 0 ORDER BY seq", arguments: [jobId])
        try StoreRules.checkJobState(jobId: jobId, from: current, to: state, report: report, unfinishedSagaIds: unfinished)
        try db.execute(
            sql: "UPDATE jobs SET state = ?, report_json = ?, reason = ?, updated_at = ? WHERE id = ?",
            arguments: [state.rawValue,
                        try report.map { (r: JobReport) throws(SagaStoreError) in try StoreJSON.encode(r, what: "job '\(jobId)' report") },
                        reason, at.secondsSinceEpoch, jobId])
        try insertOutbox(db, outbox, sagaId: nil, sagaStoreVersion: nil)
    }

    static func apply(_ db: Database, _ transition: SagaTransition) throws -> ApplyResult {
        try StoreRules.checkTransition(transition)
        if let messageId = transition.inboxMessageId,
           try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM inbox WHERE message_id = ?"), arguments: [messageId]) == true {
            return .duplicate
        }
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT version, done, timeline_length FROM sagas WHERE id = ?"),
                                         arguments: [transition.sagaId]) else {
            throw SagaStoreError.sagaNotFound(sagaId: transition.sagaId)
        }
        let current = try SQLiteRows.column(row, "version", Int.self, table: "sagas", key: transition.sagaId)
        guard current == transition.expectedVersion else { return .staleVersion(current: current) }
        let state = transition.newState
        let wasDone = try SQLiteRows.column(row, "done", Bool.self, table: "sagas", key: transition.sagaId)
        if wasDone, !state.isDone { try checkHostFree(db, state.host, except: state.sagaId) }
        let next = current + 1
        let (stateJSON, timelineLength) = try SQLiteTimeline.write(
            db, state, storedLength: try SQLiteRows.column(row, "timeline_length", Int?.self, table: "sagas", key: transition.sagaId))
        // `AND version = ?` again: the read above and this write are one
        // IMMEDIATE transaction, so this is belt and braces for other stores.
        try db.cachedStatement(
            sql: """
                UPDATE sagas SET phase = ?, done = ?, version = ?, saga_version = ?, state_json = ?, timeline_length = ?,
                                 updated_at = ?
                WHERE id = ? AND version = ?
                """).execute(
            arguments: [state.phase.rawValue, state.isDone, next, state.version, stateJSON, timelineLength,
                        transition.at.secondsSinceEpoch, transition.sagaId, current])
        if let messageId = transition.inboxMessageId {
            try db.cachedStatement(
                sql: "INSERT INTO inbox (message_id, saga_id, saga_store_version, received_at) VALUES (?, ?, ?, ?)").execute(
                arguments: [messageId, transition.sagaId, next, transition.at.secondsSinceEpoch])
        }
        try insertOutbox(db, transition.outbox, sagaId: transition.sagaId, sagaStoreVersion: next)
        return .applied(newVersion: next)
    }

    static func insertOutbox(_ db: Database, _ messages: [OutboxMessage], sagaId: String?, sagaStoreVersion: Int?) throws {
        for message in messages {
            let headers = try StoreJSON.encode(message.headers, what: "headers of outbox message '\(message.id)'")
            do {
                // Cached statements: prepared once per connection, not per row
                // (parsing and authorizing each statement again showed in
                // `patchfleet-bench scale` profiles).
                try db.cachedStatement(
                    sql: """
                        INSERT INTO outbox (id, exchange, routing_key, headers_json, body, created_at, not_before,
                                            saga_id, saga_store_version)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """).execute(
                    arguments: [message.id, message.exchange, message.routingKey, headers, message.body,
                                message.createdAt.secondsSinceEpoch, message.notBefore?.secondsSinceEpoch,
                                sagaId, sagaStoreVersion])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw SagaStoreError.duplicateOutboxMessage(id: message.id)
            }
        }
    }

    /// Names the job holding `host`, so the refusal says who is patching it.
    /// The partial unique index `sagas_unfinished_host` enforces the same rule.
    static func checkHostFree(_ db: Database, _ host: String, except sagaId: String) throws {
        if let row = try Row.fetchOne(db, sql: "SELECT id, job_id FROM sagas WHERE host = ? AND done = 0 AND id != ?",
                                      arguments: [host, sagaId]) {
            let holder = SQLiteRows.key(row, "id")
            throw SagaStoreError.hostAlreadyHeld(host: host, sagaId: holder,
                                                 byJob: (try? row.decode(String.self, forColumn: "job_id")) ?? "<unreadable>")
        }
    }
}
