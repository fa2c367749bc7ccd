import PatchFleetCore
import PatchFleetStore
import Testing

/// Volume sanity (correctness only, no timing): 10,000 transitions in batches.
@Suite("SagaStore contract: volume")
struct ContractVolumeTests {
    @Test("10,000 applies in batches of 500 all land, in order", arguments: StoreKind.allCases)
    func tenThousandApplies(kind: StoreKind) async throws {
        let store = try kind.make()
        let hosts = (0..<100).map { "h\($0)" }
        let (job, sagas) = Fixture.job("bulk", hosts: hosts)
        try await store.createJob(job, sagas: sagas)
        var states = sagas
        var versions = Array(repeating: 0, count: sagas.count)
        var batch: [SagaTransition] = []
        var applied = 0
        for round in 0..<100 {
            for index in states.indices {
                states[index] = Fixture.toggled(states[index])
                let id = "\(states[index].sagaId)-\(round)"
                batch.append(SagaTransition(inboxMessageId: "in-\(id)", sagaId: states[index].sagaId,
                                            expectedVersion: versions[index], newState: states[index],
                                            outbox: [Fixture.message("out-\(id)")], at: Fixture.at(Double(round))))
                versions[index] += 1
                if batch.count == 500 {
                    let results = try await store.apply(batch)
                    applied += results.filter { if case .applied = $0 { true } else { false } }.count
                    batch.removeAll()
                }
            }
        }
        #expect(batch.isEmpty)
        #expect(applied == 10_000)
        let stored = try await store.sagas(jobId: "bulk")
        #expect(stored.map(\.version) == Array(repeating: 100, count: 100))
        #expect(stored.map(\.state) == states)
        let outbox = try await store.pendingOutbox(limit: 20_000)
        #expect(outbox.count == 10_000)
        #expect(outbox.first?.id == "out-bulk:h0-0")
        #expect(outbox.last?.id == "out-bulk:h99-99")
    }
}
