import PatchFleetCore
import PatchFleetStore
import Testing

/// `sagas(jobId:reusing:)`: the caller's copies stand for sagas whose
/// version has not moved; everything else is read fresh.
@Suite("SagaStore contract: reading a job's sagas with known copies")
struct ContractReuseTests {
    @Test("unchanged sagas come from the known copies, changed ones from the store", arguments: StoreKind.allCases)
    func reusesOnlyUnchanged(kind: StoreKind) async throws {
        let store = try await ContractApplyTests.seeded(kind)
        let first = try await store.sagas(jobId: "j1", reusing: [:])
        #expect(first.map(\.id) == ["j1:h1", "j1:h2"])
        // A copy that differs from the store but has the store's version is
        // taken as is: that is what saves the decode.
        var known = Dictionary(uniqueKeysWithValues: first.map { ($0.id, $0) })
        let marker = StoredSaga(state: Fixture.toggled(first[1].state), version: first[1].version, updatedAt: Fixture.at(9))
        known["j1:h2"] = marker
        let h1 = first[0]
        let next = Fixture.started(h1.state)
        _ = try await store.apply(sagaId: h1.id, expectedVersion: h1.version, newState: next, outbox: [], at: Fixture.at(1))
        let second = try await store.sagas(jobId: "j1", reusing: known)
        #expect(second.map(\.id) == ["j1:h1", "j1:h2"])
        #expect(second[0].state == next)
        #expect(second[0].version == h1.version + 1)
        #expect(second[1] == marker)
        // With no copies it is a plain read.
        #expect(try await store.sagas(jobId: "j1", reusing: [:]) == store.sagas(jobId: "j1"))
    }
}
