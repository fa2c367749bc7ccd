import PatchFleetCore
import PatchFleetStore
import Testing

/// The outbox: insertion order, delayed sends, marking, retention.
@Suite("SagaStore contract: outbox")
struct ContractOutboxTests {
    static func store(with ids: [String], kind: StoreKind) async throws -> any SagaStore {
        let store = try kind.make()
        let (job, sagas) = Fixture.job("j1", hosts: ["h1"])
        try await store.createJob(job, sagas: sagas, outbox: [Fixture.message(ids[0])])
        var version = 0
        var state = sagas[0]
        for id in ids.dropFirst() {
            state = Fixture.toggled(state)
            _ = try await store.apply(sagaId: state.sagaId, expectedVersion: version, newState: state,
                                      outbox: [Fixture.message(id)], at: Fixture.at(Double(version)))
            version += 1
        }
        return store
    }

    @Test("pending messages come in insertion order, limited, and round-trip exactly", arguments: StoreKind.allCases)
    func order(kind: StoreKind) async throws {
        let ids = ["z", "a", "m", "b", "y"]
        let store = try await Self.store(with: ids, kind: kind)
        #expect(try await store.pendingOutbox(limit: 10).map(\.id) == ids)
        #expect(try await store.pendingOutbox(limit: 3).map(\.id) == ["z", "a", "m"])
        #expect(try await store.pendingOutbox(limit: 0).isEmpty)
        #expect(try await store.pendingOutbox(limit: 1) == [Fixture.message("z")])
    }

    @Test("markPublished removes messages from pending; repeating it is harmless", arguments: StoreKind.allCases)
    func markPublished(kind: StoreKind) async throws {
        let store = try await Self.store(with: ["a", "b", "c", "d"], kind: kind)
        #expect(try await store.markPublished(ids: ["b", "a"], at: Fixture.at(5)) == 2)
        #expect(try await store.pendingOutbox(limit: 10).map(\.id) == ["c", "d"])
        #expect(try await store.markPublished(ids: ["a", "c", "unknown"], at: Fixture.at(6)) == 1)
        #expect(try await store.pendingOutbox(limit: 10).map(\.id) == ["d"])
    }

    @Test("delayed messages wait for their notBefore when asked what is ready", arguments: StoreKind.allCases)
    func delayed(kind: StoreKind) async throws {
        let store = try kind.make()
        let (job, sagas) = Fixture.job("j1", hosts: ["h1"])
        try await store.createJob(job, sagas: sagas, outbox: [
            Fixture.message("poll-later", notBefore: 60), Fixture.message("now"), Fixture.message("soon", notBefore: 10),
        ])
        #expect(try await store.pendingOutbox(limit: 10, readyAt: Fixture.at(0)).map(\.id) == ["now"])
        #expect(try await store.pendingOutbox(limit: 10, readyAt: Fixture.at(10)).map(\.id) == ["now", "soon"])
        #expect(try await store.pendingOutbox(limit: 10, readyAt: Fixture.at(60)).map(\.id) == ["poll-later", "now", "soon"])
        #expect(try await store.pendingOutbox(limit: 10).count == 3)
        #expect(try await store.pendingOutbox(limit: 1)[0].notBefore == Fixture.at(60))
    }

    @Test("published messages are pruned by age; pending ones never", arguments: StoreKind.allCases)
    func prune(kind: StoreKind) async throws {
        let store = try await Self.store(with: ["a", "b", "c"], kind: kind)
        try await store.markPublished(ids: ["a"], at: Fixture.at(10))
        try await store.markPublished(ids: ["b"], at: Fixture.at(100))
        #expect(try await store.prunePublishedOutbox(olderThan: Fixture.at(50)) == 1)
        #expect(try await store.prunePublishedOutbox(olderThan: Fixture.at(1000)) == 1)
        #expect(try await store.pendingOutbox(limit: 10).map(\.id) == ["c"])
    }
}
