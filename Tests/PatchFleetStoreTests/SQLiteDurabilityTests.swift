import Foundation
import GRDB
import PatchFleetCore
import PatchFleetStore
import Testing

/// What only a file-backed store can show: restarts, several instances on
/// one file, the schema on disk, and damaged rows.
@Suite("SQLiteSagaStore: durability")
struct SQLiteDurabilityTests {
    @Test("a new instance on the same file resumes every unfinished saga, version and pending message")
    func restart() async throws {
        let path = TempDirectory().path("store.sqlite")
        var expected: [StoredSaga] = []
        do {
            let store = try SQLiteSagaStore(path: path)
            let (job, sagas) = Fixture.job("j1", hosts: ["h1", "h2"])
            try await store.createJob(job, sagas: sagas, outbox: [Fixture.message("accepted")])
            let (done, doneSagas) = Fixture.job("j0", hosts: ["h9"])
            try await store.createJob(done, sagas: doneSagas)
            _ = try await store.apply(sagaId: "j0:h9", expectedVersion: 0, newState: Fixture.finished(doneSagas[0]),
                                      outbox: [], at: Fixture.at(1))
            try await store.setJobState(jobId: "j0", to: .finished, report: JobReport(jobId: "j0", sagas: []),
                                        reason: nil, at: Fixture.at(2), outbox: [])
            let started = Fixture.started(sagas[0])
            _ = try await store.apply(inboxMessageId: "m1", receivedAt: Fixture.at(3), sagaId: "j1:h1", expectedVersion: 0,
                                      newState: started, outbox: [Fixture.message("observe-h1")])
            _ = try await store.apply(inboxMessageId: "m2", receivedAt: Fixture.at(4), sagaId: "j1:h1", expectedVersion: 1,
                                      newState: Fixture.toggled(started), outbox: [Fixture.message("paused-h1")])
            try await store.markPublished(ids: ["accepted"], at: Fixture.at(5))
            expected = try await store.sagasOfUnfinishedJobs()
        }  // the store (and its pool) is gone here

        let reopened = try SQLiteSagaStore(path: path)
        #expect(try await reopened.unfinishedJobs().map(\.id) == ["j1"])
        #expect(try await reopened.sagasOfUnfinishedJobs() == expected)
        #expect(try await reopened.sagasOfUnfinishedJobs().map(\.version) == [2, 0])
        #expect(try await reopened.pendingOutbox(limit: 10).map(\.id) == ["observe-h1", "paused-h1"])
        #expect(try await reopened.apply(inboxMessageId: "m2", receivedAt: Fixture.at(6), sagaId: "j1:h1",
                                         expectedVersion: 2, newState: expected[0].state, outbox: []) == .duplicate)
    }

    @Test("two instances on one file (WAL) see and respect each other's writes")
    func twoInstances() async throws {
        let path = TempDirectory().path("store.sqlite")
        let a = try SQLiteSagaStore(path: path)
        let b = try SQLiteSagaStore(path: path)
        let hosts = (0..<20).map { "h\($0)" }
        let (job, sagas) = Fixture.job("j1", hosts: hosts)
        try await a.createJob(job, sagas: sagas)
        #expect(try await b.sagas(jobId: "j1").count == 20)

        // Both write concurrently, each to its own half of the sagas, 10 times each.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (store, half) in [(a, sagas.prefix(10)), (b, sagas.suffix(10))] {
                group.addTask {
                    for saga in half {
                        var state = saga
                        for version in 0..<10 {
                            state = Fixture.toggled(state)
                            let result = try await store.apply(
                                inboxMessageId: "\(saga.sagaId)-\(version)", receivedAt: Fixture.at(1), sagaId: saga.sagaId,
                                expectedVersion: version, newState: state, outbox: [Fixture.message("\(saga.sagaId)-\(version)")])
                            #expect(result == .applied(newVersion: version + 1))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await a.sagas(jobId: "j1").map(\.version) == Array(repeating: 10, count: 20))
        #expect(try await b.pendingOutbox(limit: 1000).count == 200)
        // A transition computed from a read of A that B has since moved on is refused.
        let fromA = try #require(try await a.saga(id: "j1:h0"))
        _ = try await b.apply(sagaId: fromA.id, expectedVersion: fromA.version, newState: Fixture.toggled(fromA.state),
                              outbox: [], at: Fixture.at(2))
        #expect(try await a.apply(sagaId: fromA.id, expectedVersion: fromA.version, newState: fromA.state,
                                  outbox: [], at: Fixture.at(3)) == .staleVersion(current: 11))
        // And the database's own rule holds across instances: B cannot take A's hosts.
        let (other, otherSagas) = Fixture.job("j2", hosts: ["h5"])
        await #expect(throws: SagaStoreError.hostAlreadyHeld(host: "h5", sagaId: "j1:h5", byJob: "j1")) {
            try await b.createJob(other, sagas: otherSagas)
        }
    }

    @Test("several stores opening one new file at once all migrate it and work")
    func concurrentFirstOpen() async throws {
        for _ in 0..<5 {
            let path = TempDirectory().path("store.sqlite")
            let opened = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        let store = try SQLiteSagaStore(path: path)
                        let (job, sagas) = Fixture.job("j\(index)", hosts: ["h\(index)"])
                        try await store.createJob(job, sagas: sagas)
                        return 1
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(opened == 6)
            #expect(try await SQLiteSagaStore(path: path).jobs(limit: 10).count == 6)
        }
    }

    @Test("the file is WAL, migrated by name, and passes integrity_check")
    func schemaOnDisk() async throws {
        let path = TempDirectory().path("store.sqlite")
        let store = try SQLiteSagaStore(path: path)
        #expect(try await store.integrityCheck() == ["ok"])
        let raw = try DatabaseQueue(path: path)
        let (journal, migrations, uniqueHostIndex) = try await raw.read { db throws in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"),
             try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"),
             try db.indexes(on: "sagas").contains { $0.name == "sagas_unfinished_host" && $0.isUnique })
        }
        #expect(journal == "wal")
        #expect(migrations == ["v1: jobs, sagas, inbox, outbox", "v2: jobs.submission_message_id", "v3: saga_timeline"])
        #expect(uniqueHostIndex)
    }

    @Test("a database from a newer PatchFleet (unknown migration) is refused, not guessed at")
    func newerSchema() async throws {
        let path = TempDirectory().path("store.sqlite")
        _ = try SQLiteSagaStore(path: path)
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        }
        #expect(throws: SagaStoreError.schemaTooNew(path: path, detail: "it has migrations this build does not know")) {
            _ = try SQLiteSagaStore(path: path)
        }
    }

    @Test("damaged rows become errors naming the row, never crashes")
    func corruptRows() async throws {
        let path = TempDirectory().path("store.sqlite")
        let store = try SQLiteSagaStore(path: path)
        let (job, sagas) = Fixture.job("j1", hosts: ["h1", "h2"])
        try await store.createJob(job, sagas: sagas, outbox: [Fixture.message("m1")])
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "UPDATE sagas SET state_json = X'7B6E6F7065' WHERE id = 'j1:h2'")
            try db.execute(sql: "UPDATE jobs SET state = 'exploded'")
            try db.execute(sql: "UPDATE outbox SET headers_json = 'not json', created_at = 'yesterday'")
        }
        await #expect(throws: SagaStoreError.self) { try await store.saga(id: "j1:h2") }
        do {
            _ = try await store.sagas(jobId: "j1")
            Issue.record("a corrupt saga row was read without an error")
        } catch {
            guard case .corruptRow(let table, let key, _) = error else { throw error }
            #expect(table == "sagas" && key == "j1:h2")
        }
        await #expect(throws: SagaStoreError.corruptRow(table: "jobs", key: "j1", detail: "unknown job state 'exploded'")) {
            try await store.job(id: "j1")
        }
        do {
            _ = try await store.pendingOutbox(limit: 10)
            Issue.record("a corrupt outbox row was read without an error")
        } catch {
            guard case .corruptRow(let table, let key, _) = error else { throw error }
            #expect(table == "outbox" && key == "m1")
        }
        // The healthy saga is still readable.
        #expect(try await store.saga(id: "j1:h1")?.version == 0)
    }
}
