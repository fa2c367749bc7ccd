import Foundation
import GRDB
import PatchFleetCore
import PatchFleetStore
import Testing

/// The SQLite layout of timelines (`saga_timeline`, one row per entry):
/// rows of stores written before it, and damaged rows.
@Suite("SQLiteSagaStore: timeline rows")
struct SQLiteTimelineTests {
    /// A store at `path` with saga j1:h1 through the first `count` steps.
    static func stored(_ path: String, steps count: Int) async throws -> (any SagaStore, [HostSagaState]) {
        let states = ContractTimelineTests.steps()
        let store = try SQLiteSagaStore(path: path)
        let (job, sagas) = Fixture.job("j1", hosts: ["h1", "h2"])
        try await store.createJob(job, sagas: sagas)
        for version in 0..<count {
            _ = try await store.apply(sagaId: "j1:h1", expectedVersion: version, newState: states[version], outbox: [],
                                      at: Fixture.at(Double(version + 1)))
        }
        return (store, states)
    }

    static func rows(_ path: String) async throws -> (length: Int?, positions: [Int], stateJSON: String) {
        try await DatabaseQueue(path: path).read { db in
            (try Int?.fetchOne(db, sql: "SELECT timeline_length FROM sagas WHERE id = 'j1:h1'") ?? nil,
             try Int.fetchAll(db, sql: "SELECT position FROM saga_timeline WHERE saga_id = 'j1:h1' ORDER BY position"),
             String(decoding: try Data.fetchOne(db, sql: "SELECT state_json FROM sagas WHERE id = 'j1:h1'") ?? Data(), as: UTF8.self))
        }
    }

    /// Saga j1:h1's timeline is all in rows, one per entry of `state`'s, and
    /// `state_json` keeps only the empty mark.
    static func expectRows(_ path: String, holding state: HostSagaState,
                           sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let count = try #require(state.timeline?.count, sourceLocation: sourceLocation)
        let rows = try await rows(path)
        #expect(rows.length == count && rows.positions == Array(0..<count), sourceLocation: sourceLocation)
        #expect(rows.stateJSON.contains("\"timeline\":[]"), sourceLocation: sourceLocation)
    }

    @Test("each step's entries are rows of their own; state_json keeps only the empty mark")
    func entriesAreRows() async throws {
        let path = TempDirectory().path("store.sqlite")
        let (_, states) = try await Self.stored(path, steps: 3)
        try await Self.expectRows(path, holding: states[2])
    }

    @Test("a row of the old layout (timeline inside state_json) reads whole, and its next step moves it to rows")
    func theOldLayoutMovesOnItsNextStep() async throws {
        let path = TempDirectory().path("store.sqlite")
        let (store, states) = try await Self.stored(path, steps: 3)
        // As a v2 store wrote it: the whole state in state_json, no rows.
        let whole = try WireCoding.encode(states[2])
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "UPDATE sagas SET state_json = ?, timeline_length = NULL WHERE id = 'j1:h1'", arguments: [whole])
            try db.execute(sql: "DELETE FROM saga_timeline")
        }
        #expect(try await store.saga(id: "j1:h1")?.state == states[2])
        #expect(try await store.apply(sagaId: "j1:h1", expectedVersion: 3, newState: states[3], outbox: [],
                                      at: Fixture.at(4)) == .applied(newVersion: 4))
        #expect(try await store.saga(id: "j1:h1")?.state == states[3])
        try await Self.expectRows(path, holding: states[3])
    }

    @Test("a hole in a timeline or entries missing at its end: a corrupt row naming the saga, never a shorter story")
    func damagedRowsAreNamed() async throws {
        let path = TempDirectory().path("store.sqlite")
        let (store, _) = try await Self.stored(path, steps: 3)
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "DELETE FROM saga_timeline WHERE saga_id = 'j1:h1' AND position = 1")
        }
        do {
            _ = try await store.saga(id: "j1:h1")
            Issue.record("a timeline with a hole was read without an error")
        } catch {
            guard case .corruptRow(let table, let key, let detail) = error else { throw error }
            #expect(table == "saga_timeline" && key == "j1:h1" && detail.contains("entry 1 is missing"))
        }
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "DELETE FROM saga_timeline WHERE saga_id = 'j1:h1' AND position > 1")
        }
        do {
            _ = try await store.sagas(jobId: "j1")
            Issue.record("a short timeline was read without an error")
        } catch {
            guard case .corruptRow(let table, let key, let detail) = error else { throw error }
            #expect(table == "saga_timeline" && key == "j1:h1" && detail.contains("the saga's row says 3"))
        }
        await #expect(throws: SagaStoreError.self) { try await store.sagasOfUnfinishedJobs() }
        #expect(try await store.saga(id: "j1:h2")?.version == 0, "the other saga is still readable")
    }
}
