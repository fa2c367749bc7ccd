import PatchFleetCore
import PatchFleetStore
import Testing

/// Transitions: inbox dedupe, optimistic concurrency, atomicity, batches.
@Suite("SagaStore contract: apply")
struct ContractApplyTests {
    /// A store holding job "j1" with sagas on h1 and h2, both at version 0.
    static func seeded(_ kind: StoreKind) async throws -> any SagaStore {
        let store = try kind.make()
        let (job, sagas) = Fixture.job("j1", hosts: ["h1", "h2"])
        try await store.createJob(job, sagas: sagas)
        return store
    }

    static func current(_ store: any SagaStore, _ id: String = "j1:h1") async throws -> StoredSaga {
        try #require(try await store.saga(id: id))
    }

    @Test("an applied transition stores the state and bumps the version", arguments: StoreKind.allCases)
    func applies(kind: StoreKind) async throws {
        let store = try await Self.seeded(kind)
        let before = try await Self.current(store)
        let next = Fixture.started(before.state)
        let result = try await store.apply(inboxMessageId: "m1", receivedAt: Fixture.at(1), sagaId: before.id,
                                           expectedVersion: 0, newState: next, outbox: [Fixture.message("task-1")])
        #expect(result == .applied(newVersion: 1))
        let after = try await Self.current(store)
        #expect(after.state == next)
        #expect(after.version == 1)
        #expect(after.updatedAt == Fixture.at(1))
        #expect(try await store.pendingOutbox(limit: 10).map(\.id) == ["task-1"])
    }

    @Test("the same message id twice: the second is a duplicate and adds nothing", arguments: StoreKind.allCases)
    func inboxDedupe(kind: StoreKind) async throws {
        let store = try await Self.seeded(kind)
        let saga = try await Self.current(store)
        let next = Fixture.started(saga.state)
        #expect(try await store.apply(inboxMessageId: "m1", receivedAt: Fixture.at(1), sagaId: saga.id,
                                      expectedVersion: 0, newState: next, outbox: [Fixture.message("task-1")])
                == .applied(newVersion: 1))
        // The redelivery, even computed against the new version, is recognised by its id.
        let again = try await store.apply(inboxMessageId: "m1", receivedAt: Fixture.at(2), sagaId: saga.id,
                                          expectedVersion: 1, newState: Fixture.toggled(next),
                                          outbox: [Fixture.message("task-2")])
        #expect(again == .duplicate)
        #expect(try await Self.current(store).version == 1)
        #expect(try await Self.current(store).state == next)
        #expect(try await store.pendingOutbox(limit: 10).map(\.id) == ["task-1"])
    }

    @Test("a stale expected version is refused and nothing is written", arguments: StoreKind.allCases)
    func staleVersion(kind: StoreKind) async throws {
        let store = try await Self.seeded(kind)
        let saga = try await Self.current(store)
        let next = Fixture.started(saga.state)
        _ = try await store.apply(sagaId: saga.id, expectedVersion: 0, newState: next, outbox: [], at: Fixture.at(1))
        let stale = try await store.apply(inboxMessageId: "m2", receivedAt: Fixture.at(2), sagaId: saga.id,
                                          expectedVersion: 0, newState: Fixture.toggled(saga.state),
                                          outbox: [Fixture.message("task-x")])
        #expect(stale == .staleVersion(current: 1))
        #expect(try await Self.current(store).state == next)
        #expect(try await store.pendingOutbox(limit: 10).isEmpty)
        // The inbox did not record m2: retried against the current version it applies.
        #expect(try await store.apply(inboxMessageId: "m2", receivedAt: Fixture.at(3), sagaId: saga.id,
                                      expectedVersion: 1, newState: Fixture.toggled(next), outbox: [])
                == .applied(newVersion: 2))
    }

    @Test("a failure mid-transaction (duplicate outbox id) leaves saga, inbox and outbox untouched",
          arguments: StoreKind.allCases)
    func atomicity(kind: StoreKind) async throws {
        let store = try await Self.seeded(kind)
        let saga = try await Self.current(store)
        _ = try await store.apply(sagaId: "j1:h2", expectedVersion: 0, newState: Fixture.started(Fixture.saga("j1", "h2")),
                                  outbox: [Fixture.message("taken")], at: Fixture.at(1))
        let next = Fixture.started(saga.state)
        await #expect(throws: SagaStoreError.duplicateOutboxMessage(id: "taken")) {
            try await store.apply(inboxMessageId: "m1", receivedAt: Fixture.at(2), sagaId: saga.id, expectedVersion: 0,
                                  newState: next, outbox: [Fixture.message("fresh"), Fixture.message("taken")])
        }
        #expect(try await Self.current(store) == saga)
        #expect(try await store.pendingOutbox(limit: 10).map(\.id) == ["taken"])
        // m1 was not recorded: the same message applies once the outbox ids are fixed.
        #expect(try await store.apply(inboxMessageId: "m1", receivedAt: Fixture.at(3), sagaId: saga.id,
                                      expectedVersion: 0, newState: next, outbox: [Fixture.message("fresh")])
                == .applied(newVersion: 1))
    }

    @Test("a batch is one transaction: one bad transition rolls back all", arguments: StoreKind.allCases)
    func batchAtomicity(kind: StoreKind) async throws {
        let store = try await Self.seeded(kind)
        let h1 = try await Self.current(store)
        let good = SagaTransition(from: h1, to: Fixture.started(h1.state), inboxMessageId: "m1",
                                  outbox: [Fixture.message("t1")], at: Fixture.at(1))
        let unknown = SagaTransition(inboxMessageId: "m2", sagaId: "j1:nope", expectedVersion: 0,
                                     newState: Fixture.saga("j1", "nope"), at: Fixture.at(1))
        await #expect(throws: SagaStoreError.sagaNotFound(sagaId: "j1:nope")) {
            try await store.apply([good, unknown])
        }
        #expect(try await Self.current(store) == h1)
        #expect(try await store.pendingOutbox(limit: 10).isEmpty)
        #expect(try await store.apply([good]) == [.applied(newVersion: 1)])
    }

    @Test("within a batch, transitions chain and repeated message ids are duplicates", arguments: StoreKind.allCases)
    func batchChaining(kind: StoreKind) async throws {
        let store = try await Self.seeded(kind)
        let h1 = try await Self.current(store)
        let h2 = try await Self.current(store, "j1:h2")
        let s1 = Fixture.started(h1.state)
        let s2 = Fixture.toggled(s1)
        let results = try await store.apply([
            SagaTransition(from: h1, to: s1, inboxMessageId: "a", outbox: [Fixture.message("o1")], at: Fixture.at(1)),
            SagaTransition(inboxMessageId: "b", sagaId: h1.id, expectedVersion: 1, newState: s2,
                           outbox: [Fixture.message("o2")], at: Fixture.at(2)),
            SagaTransition(inboxMessageId: "a", sagaId: h1.id, expectedVersion: 2, newState: s1, at: Fixture.at(3)),
            SagaTransition(from: h2, to: Fixture.started(h2.state), inboxMessageId: nil, at: Fixture.at(3)),
            SagaTransition(from: h2, to: h2.state, inboxMessageId: "c", at: Fixture.at(4)),
        ])
        #expect(results == [.applied(newVersion: 1), .applied(newVersion: 2), .duplicate,
                            .applied(newVersion: 1), .staleVersion(current: 1)])
        #expect(try await Self.current(store).state == s2)
        #expect(try await store.pendingOutbox(limit: 10).map(\.id) == ["o1", "o2"])
    }

    @Test("a transition must carry its own saga's state, of a saga that exists", arguments: StoreKind.allCases)
    func wrongSaga(kind: StoreKind) async throws {
        let store = try await Self.seeded(kind)
        let h1 = try await Self.current(store)
        await #expect(throws: SagaStoreError.sagaIdMismatch(sagaId: "j1:h2", stateSagaId: "j1:h1")) {
            try await store.apply(sagaId: "j1:h2", expectedVersion: 0, newState: h1.state, outbox: [], at: Fixture.at(1))
        }
        await #expect(throws: SagaStoreError.sagaNotFound(sagaId: "j9:h1")) {
            try await store.apply(sagaId: "j9:h1", expectedVersion: 0, newState: Fixture.saga("j9", "h1"),
                                  outbox: [], at: Fixture.at(1))
        }
    }

    @Test("pruned inbox rows no longer dedupe; the version check still refuses old answers",
          arguments: StoreKind.allCases)
    func pruneInbox(kind: StoreKind) async throws {
        let store = try await Self.seeded(kind)
        let h1 = try await Self.current(store)
        _ = try await store.apply(inboxMessageId: "old", receivedAt: Fixture.at(10), sagaId: h1.id, expectedVersion: 0,
                                  newState: Fixture.started(h1.state), outbox: [])
        _ = try await store.apply(inboxMessageId: "new", receivedAt: Fixture.at(100), sagaId: h1.id, expectedVersion: 1,
                                  newState: Fixture.toggled(Fixture.started(h1.state)), outbox: [])
        #expect(try await store.pruneInbox(olderThan: Fixture.at(50)) == 1)
        #expect(try await store.apply(inboxMessageId: "new", receivedAt: Fixture.at(101), sagaId: h1.id,
                                      expectedVersion: 2, newState: h1.state, outbox: []) == .duplicate)
        #expect(try await store.apply(inboxMessageId: "old", receivedAt: Fixture.at(101), sagaId: h1.id,
                                      expectedVersion: 0, newState: h1.state, outbox: []) == .staleVersion(current: 2))
    }
}
