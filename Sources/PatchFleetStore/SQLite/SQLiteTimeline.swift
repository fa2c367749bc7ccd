import Foundation
import GRDB
import PatchFleetCore

/// A saga's timeline, one row per entry in `saga_timeline`. A step adds an
/// entry or two to a timeline of dozens (a VM moved out and back is two),
/// and writing the whole timeline again inside `state_json` at every step
/// was a fifth of the `scale` bench: now a step inserts the entries it
/// added. `state_json` keeps `"timeline":[]` and `sagas.timeline_length`
/// says how many rows hold it; NULL means the old layout (the timeline,
/// or its absence, is in `state_json`), as rows written before v3 are.
///
/// Timelines only grow (`HostSaga.reduce` appends): a transition whose new
/// state has fewer entries than are stored, or none at all, is refused.
/// Entries below the stored length are not compared (that would mean
/// encoding them again); the in-memory store, which holds the old state,
/// compares them. A row of the old layout is not checked at all (its
/// timeline is inside `state_json`, which a write does not read back): its
/// next step rewrites it whole, in rows.
enum SQLiteTimeline {
    /// Inserts the entries `state` added past the `storedLength` already in
    /// rows; returns the `state_json` and the `timeline_length` to write.
    static func write(_ db: Database, _ state: HostSagaState, storedLength: Int?) throws -> (stateJSON: Data, length: Int?) {
        let what = "saga '\(state.sagaId)'"
        guard let entries = state.timeline else {
            // Not recorded (a saga from before timelines): nothing apart. A
            // timeline that was recorded is never dropped.
            if let storedLength { throw SagaStoreError.timelineRewritten(sagaId: state.sagaId, stored: storedLength, given: 0) }
            return (try StoreJSON.encode(state, what: what), nil)
        }
        // NULL length (a new saga, or a row of the old layout): no rows yet.
        // Rows exist only where a length was written, and a stray one would
        // make the insert below fail (the primary key), never be read.
        let stored = storedLength ?? 0
        guard entries.count >= stored else {
            throw SagaStoreError.timelineRewritten(sagaId: state.sagaId, stored: stored, given: entries.count)
        }
        if stored < entries.count {
            let insert = try db.cachedStatement(sql: "INSERT INTO saga_timeline (saga_id, position, entry_json) VALUES (?, ?, ?)")
            for position in stored ..< entries.count {
                try insert.execute(arguments: [state.sagaId, position,
                                               try StoreJSON.encode(entries[position], what: "timeline entry \(position) of \(what)")])
            }
        }
        return (try StoreJSON.encode(state.timelineEmptied, what: what), entries.count)
    }

    /// One stored entry: its position and its JSON.
    typealias StoredEntry = (position: Int, json: Data)

    /// Every entry of the sagas `sagaFilter` selects (an SQL condition on
    /// `sagas`, with `arguments`), by saga, in order: one query for a whole
    /// job's report or a restart, instead of one per saga.
    static func entriesBySaga(_ db: Database, sagasWhere sagaFilter: String,
                              arguments: StatementArguments) throws -> [String: [StoredEntry]] {
        var entries: [String: [StoredEntry]] = [:]
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT saga_id, position, entry_json FROM saga_timeline
            WHERE saga_id IN (SELECT id FROM sagas WHERE \(sagaFilter))
            ORDER BY saga_id, position
            """, arguments: arguments)
        while let row = try cursor.next() {
            let saga = SQLiteRows.key(row, "saga_id")
            entries[saga, default: []].append(try entry(row, saga))
        }
        return entries
    }

    private static func entry(_ row: Row, _ sagaId: String) throws -> StoredEntry {
        (try SQLiteRows.column(row, "position", Int.self, table: "saga_timeline", key: sagaId),
         try SQLiteRows.column(row, "entry_json", Data.self, table: "saga_timeline", key: sagaId))
    }

    /// `state` as decoded from `state_json`, with the `length` entries kept
    /// apart (nil length: the old layout, `state` is whole); `entries`, when
    /// read already (`entriesBySaga`), else read here.
    static func joined(_ db: Database, _ state: HostSagaState, length: Int?, entries known: [StoredEntry]? = nil) throws -> HostSagaState {
        guard let length else { return state }
        let stored = try known ?? Row.fetchAll(
            db.cachedStatement(sql: "SELECT position, entry_json FROM saga_timeline WHERE saga_id = ? ORDER BY position"),
            arguments: [state.sagaId]).map { try entry($0, state.sagaId) }
        // One JSON array of the stored entries, decoded in one call.
        var json = Data("[".utf8)
        for (index, entry) in stored.enumerated() {
            guard entry.position == index else {
                throw SagaStoreError.corruptRow(table: "saga_timeline", key: state.sagaId,
                                                detail: "entry \(index) is missing (next stored: \(entry.position))")
            }
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json.append(entry.json)
        }
        json.append(UInt8(ascii: "]"))
        guard stored.count == length else {
            throw SagaStoreError.corruptRow(table: "saga_timeline", key: state.sagaId,
                                            detail: "\(stored.count) timeline entries stored, the saga's row says \(length)")
        }
        guard state.timeline?.isEmpty == true else {
            throw SagaStoreError.corruptRow(table: "sagas", key: state.sagaId,
                                            detail: "timeline_length is \(length) but state_json has a timeline of its own")
        }
        let entries = try StoreJSON.decode([SagaTimelineEntry].self, from: json, table: "saga_timeline", key: state.sagaId)
        return state.withTimeline(entries)
    }
}
