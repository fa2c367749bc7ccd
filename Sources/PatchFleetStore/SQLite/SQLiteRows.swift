import Foundation
import GRDB
import PatchFleetCore

/// Reads rows back into values. Nothing here traps: a NULL where a value
/// belongs, a wrong type, bad JSON or an unknown enum value becomes
/// `.corruptRow` naming the table and the row.
enum SQLiteRows {
    static func column<T: DatabaseValueConvertible>(_ row: Row, _ name: String, _ type: T.Type,
                                                    table: String, key: String) throws(SagaStoreError) -> T {
        do {
            return try row.decode(T.self, forColumn: name)
        } catch {
            throw .corruptRow(table: table, key: key, detail: "column \(name): \(error)")
        }
    }

    /// The row's key, for naming it in errors (the key column itself may be damaged).
    static func key(_ row: Row, _ column: String) -> String {
        (try? row.decode(String.self, forColumn: column)) ?? "<unreadable \(column)>"
    }

    static func job(_ row: Row) throws(SagaStoreError) -> JobRecord {
        let key = key(row, "id")
        let stateText = try column(row, "state", String.self, table: "jobs", key: key)
        guard let state = JobState(rawValue: stateText) else {
            throw .corruptRow(table: "jobs", key: key, detail: "unknown job state '\(stateText)'")
        }
        let spec = try StoreJSON.decode(JobSpec.self, from: column(row, "spec_json", Data.self, table: "jobs", key: key),
                                        table: "jobs", key: key)
        guard spec.id == key else {
            throw .corruptRow(table: "jobs", key: key, detail: "spec_json names job '\(spec.id)'")
        }
        let report = try column(row, "report_json", Data?.self, table: "jobs", key: key)
            .map { (data: Data) throws(SagaStoreError) in try StoreJSON.decode(JobReport.self, from: data, table: "jobs", key: key) }
        return JobRecord(
            spec: spec, state: state,
            submittedAt: Instant(secondsSinceEpoch: try column(row, "submitted_at", Double.self, table: "jobs", key: key)),
            updatedAt: Instant(secondsSinceEpoch: try column(row, "updated_at", Double.self, table: "jobs", key: key)),
            report: report,
            reason: try column(row, "reason", String?.self, table: "jobs", key: key),
            submissionMessageId: try column(row, "submission_message_id", String?.self, table: "jobs", key: key))
    }

    /// A saga's row, with its timeline from `saga_timeline` where the row
    /// says it is kept there (`SQLiteTimeline`); `timelines`: the entries
    /// of a whole read, by saga (`SQLiteTimeline.entriesBySaga`), or nil to
    /// read this saga's.
    static func saga(_ row: Row, _ db: Database, timelines: [String: [SQLiteTimeline.StoredEntry]]? = nil) throws -> StoredSaga {
        let key = key(row, "id")
        let data = try column(row, "state_json", Data.self, table: "sagas", key: key)
        let bare = try StoreJSON.decode(HostSagaState.self, from: data, table: "sagas", key: key)
        guard bare.sagaId == key else {
            throw SagaStoreError.corruptRow(table: "sagas", key: key, detail: "state_json names saga '\(bare.sagaId)'")
        }
        let state = try SQLiteTimeline.joined(db, bare, length: column(row, "timeline_length", Int?.self, table: "sagas", key: key),
                                              entries: timelines.map { $0[key] ?? [] })
        return StoredSaga(
            state: state,
            version: try column(row, "version", Int.self, table: "sagas", key: key),
            updatedAt: Instant(secondsSinceEpoch: try column(row, "updated_at", Double.self, table: "sagas", key: key)))
    }

    static func outbox(_ row: Row) throws(SagaStoreError) -> OutboxMessage {
        let key = key(row, "id")
        let headersData = try column(row, "headers_json", Data.self, table: "outbox", key: key)
        return OutboxMessage(
            id: key,
            exchange: try column(row, "exchange", String.self, table: "outbox", key: key),
            routingKey: try column(row, "routing_key", String.self, table: "outbox", key: key),
            headers: try StoreJSON.decode([String: String].self, from: headersData, table: "outbox", key: key),
            body: try column(row, "body", Data.self, table: "outbox", key: key),
            createdAt: Instant(secondsSinceEpoch: try column(row, "created_at", Double.self, table: "outbox", key: key)),
            notBefore: try column(row, "not_before", Double?.self, table: "outbox", key: key)
                .map(Instant.init(secondsSinceEpoch:)))
    }
}
