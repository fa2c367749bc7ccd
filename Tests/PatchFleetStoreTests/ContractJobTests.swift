import PatchFleetCore
import PatchFleetStore
import Testing

/// Jobs: creation, refusal of duplicates and of hosts already being patched,
/// lifecycle. Runs against every store implementation.
@Suite("SagaStore contract: jobs")
struct ContractJobTests {
    @Test("a created job and its sagas load back exactly", arguments: StoreKind.allCases)
    func createAndLoad(kind: StoreKind) async throws {
        let store = try kind.make()
        let (job, sagas) = Fixture.job("j1", hosts: ["h1", "h2"])
        try await store.createJob(job, sagas: sagas, outbox: [Fixture.message("j1.accepted")])

        #expect(try await store.job(id: "j1") == job)
        #expect(try await store.job(id: "nope") == nil)
        let loaded = try await store.sagas(jobId: "j1")
        #expect(loaded.map(\.state) == sagas)
        #expect(loaded.map(\.version) == [0, 0])
        #expect(try await store.saga(id: "j1:h2")?.state == sagas[1])
        #expect(try await store.unfinishedJobs().map(\.id) == ["j1"])
        #expect(try await store.sagasOfUnfinishedJobs().map(\.id) == ["j1:h1", "j1:h2"])
        #expect(try await store.pendingOutbox(limit: 10) == [Fixture.message("j1.accepted")])
    }

    @Test("a second job with the same id is refused and changes nothing", arguments: StoreKind.allCases)
    func duplicateJobId(kind: StoreKind) async throws {
        let store = try kind.make()
        let (job, sagas) = Fixture.job("j1", hosts: ["h1"])
        try await store.createJob(job, sagas: sagas)
        let (again, _) = Fixture.job("j1", hosts: ["h9"])
        await #expect(throws: SagaStoreError.duplicateJob(jobId: "j1")) {
            try await store.createJob(again, sagas: [Fixture.saga("j1", "h9")], outbox: [Fixture.message("m")])
        }
        #expect(try await store.sagas(jobId: "j1").map(\.id) == ["j1:h1"])
        #expect(try await store.pendingOutbox(limit: 10).isEmpty)
    }

    @Test("the submission's message id is kept with the job and survives state changes", arguments: StoreKind.allCases)
    func submissionMessageId(kind: StoreKind) async throws {
        let store = try kind.make()
        var (job, sagas) = Fixture.job("j1", hosts: ["h1"])
        job.submissionMessageId = "submission-1"
        try await store.createJob(job, sagas: sagas)
        #expect(try await store.job(id: "j1")?.submissionMessageId == "submission-1")
        try await store.setJobState(jobId: "j1", to: .paused, report: nil, reason: "window", at: Fixture.at(3), outbox: [])
        #expect(try await store.job(id: "j1")?.submissionMessageId == "submission-1")
        let (other, otherSagas) = Fixture.job("j2", hosts: ["h2"])
        try await store.createJob(other, sagas: otherSagas)
        #expect(try await store.job(id: "j2")?.submissionMessageId == nil, "not every caller has a message")
    }

    @Test("a host held by another job's unfinished saga is refused, naming both", arguments: StoreKind.allCases)
    func hostAlreadyHeld(kind: StoreKind) async throws {
        let store = try kind.make()
        let (first, firstSagas) = Fixture.job("j1", hosts: ["h1", "h2"])
        try await store.createJob(first, sagas: firstSagas)
        let (second, secondSagas) = Fixture.job("j2", hosts: ["h3", "h2"], at: 5)
        await #expect(throws: SagaStoreError.hostAlreadyHeld(host: "h2", sagaId: "j1:h2", byJob: "j1")) {
            try await store.createJob(second, sagas: secondSagas, outbox: [Fixture.message("j2.accepted")])
        }
        // Nothing of the refused job was kept, not even its first saga.
        #expect(try await store.job(id: "j2") == nil)
        #expect(try await store.saga(id: "j2:h3") == nil)
        #expect(try await store.pendingOutbox(limit: 10).isEmpty)

        // Once j1's saga on h2 has ended, the host is free again.
        let held = try #require(try await store.saga(id: "j1:h2"))
        _ = try await store.apply(sagaId: held.id, expectedVersion: 0, newState: Fixture.finished(held.state),
                                  outbox: [], at: Fixture.at(2))
        try await store.createJob(second, sagas: secondSagas)
        #expect(try await store.sagas(jobId: "j2").count == 2)
    }

    @Test("an ended saga cannot come back to life on a host another job now holds", arguments: StoreKind.allCases)
    func noReopenOntoHeldHost(kind: StoreKind) async throws {
        let store = try kind.make()
        let (first, firstSagas) = Fixture.job("j1", hosts: ["h1"])
        try await store.createJob(first, sagas: firstSagas)
        _ = try await store.apply(sagaId: "j1:h1", expectedVersion: 0, newState: Fixture.finished(firstSagas[0]),
                                  outbox: [], at: Fixture.at(1))
        let (second, secondSagas) = Fixture.job("j2", hosts: ["h1"], at: 2)
        try await store.createJob(second, sagas: secondSagas)
        await #expect(throws: SagaStoreError.hostAlreadyHeld(host: "h1", sagaId: "j2:h1", byJob: "j2")) {
            try await store.apply(sagaId: "j1:h1", expectedVersion: 1, newState: firstSagas[0], outbox: [], at: Fixture.at(3))
        }
        #expect(try await store.saga(id: "j1:h1")?.version == 1)
    }

    @Test("a job whose last step fails (duplicate outbox id) leaves no job, saga or held host",
          arguments: StoreKind.allCases)
    func createJobAtomicity(kind: StoreKind) async throws {
        let store = try kind.make()
        let (job, sagas) = Fixture.job("j1", hosts: ["h1", "h2"])
        await #expect(throws: SagaStoreError.duplicateOutboxMessage(id: "dup")) {
            try await store.createJob(job, sagas: sagas, outbox: [Fixture.message("dup"), Fixture.message("dup")])
        }
        #expect(try await store.job(id: "j1") == nil)
        #expect(try await store.saga(id: "j1:h1") == nil)
        #expect(try await store.jobs(limit: 10).isEmpty)
        #expect(try await store.pendingOutbox(limit: 10).isEmpty)
        let (other, otherSagas) = Fixture.job("j2", hosts: ["h1", "h2"])
        try await store.createJob(other, sagas: otherSagas, outbox: [Fixture.message("dup")])
        #expect(try await store.sagasOfUnfinishedJobs().map(\.id) == ["j2:h1", "j2:h2"])
    }

    @Test("sagas must belong to the job and name each host once", arguments: StoreKind.allCases)
    func malformedSagas(kind: StoreKind) async throws {
        let store = try kind.make()
        let (job, _) = Fixture.job("j1", hosts: ["h1"])
        await #expect(throws: SagaStoreError.duplicateSaga(sagaId: "j1:h1")) {
            try await store.createJob(job, sagas: [Fixture.saga("j1", "h1"), Fixture.saga("j1", "h1")])
        }
        await #expect(throws: SagaStoreError.sagaJobMismatch(sagaId: "j0:h1", sagaJobId: "j0", jobId: "j1")) {
            try await store.createJob(job, sagas: [Fixture.saga("j0", "h1")])
        }
        #expect(try await store.job(id: "j1") == nil)
    }

    @Test("job states: finishing needs a report and ended sagas; final states stay final",
          arguments: StoreKind.allCases)
    func jobLifecycle(kind: StoreKind) async throws {
        let store = try kind.make()
        let (job, sagas) = Fixture.job("j1", hosts: ["h1"])
        try await store.createJob(job, sagas: sagas)
        try await store.setJobState(jobId: "j1", to: .running, report: nil, reason: nil, at: Fixture.at(1),
                                    outbox: [Fixture.message("j1.running")])
        #expect(try await store.job(id: "j1")?.state == .running)
        #expect(try await store.job(id: "j1")?.updatedAt == Fixture.at(1))

        let report = JobReport(jobId: "j1", sagas: sagas)
        await #expect(throws: SagaStoreError.reportRequired(jobId: "j1")) {
            try await store.setJobState(jobId: "j1", to: .finished, report: nil, reason: nil, at: Fixture.at(2), outbox: [])
        }
        await #expect(throws: SagaStoreError.sagasUnfinished(jobId: "j1", sagaIds: ["j1:h1"])) {
            try await store.setJobState(jobId: "j1", to: .finished, report: report, reason: nil, at: Fixture.at(2),
                                        outbox: [Fixture.message("j1.finished")])
        }
        #expect(try await store.pendingOutbox(limit: 10).map(\.id) == ["j1.running"])

        let finished = Fixture.finished(sagas[0])
        _ = try await store.apply(sagaId: "j1:h1", expectedVersion: 0, newState: finished, outbox: [], at: Fixture.at(3))
        let finalReport = JobReport(jobId: "j1", sagas: [finished])
        try await store.setJobState(jobId: "j1", to: .finished, report: finalReport, reason: nil, at: Fixture.at(4), outbox: [])
        #expect(try await store.job(id: "j1")?.report == finalReport)
        #expect(try await store.unfinishedJobs().isEmpty)
        #expect(try await store.sagasOfUnfinishedJobs().isEmpty)
        await #expect(throws: SagaStoreError.jobFinalized(jobId: "j1", state: .finished)) {
            try await store.setJobState(jobId: "j1", to: .running, report: nil, reason: nil, at: Fixture.at(5), outbox: [])
        }
        await #expect(throws: SagaStoreError.jobNotFound(jobId: "zz")) {
            try await store.setJobState(jobId: "zz", to: .running, report: nil, reason: nil, at: Fixture.at(5), outbox: [])
        }
    }

    @Test("jobs(limit:) lists newest first; unfinishedJobs oldest first without final ones",
          arguments: StoreKind.allCases)
    func listing(kind: StoreKind) async throws {
        let store = try kind.make()
        // "b" is refused before any saga is made (as a validation failure would be).
        for (index, id) in ["a", "b", "c"].enumerated() {
            let (job, sagas) = Fixture.job(id, hosts: ["\(id)-h"], at: Double(index))
            try await store.createJob(job, sagas: id == "b" ? [] : sagas)
        }
        try await store.setJobState(jobId: "b", to: .rejected, report: nil, reason: "no such cluster",
                                    at: Fixture.at(9), outbox: [])
        #expect(try await store.jobs(limit: 2).map(\.id) == ["c", "b"])
        #expect(try await store.jobs(limit: 10).map(\.id) == ["c", "b", "a"])
        #expect(try await store.job(id: "b")?.reason == "no such cluster")
        #expect(try await store.unfinishedJobs().map(\.id) == ["a", "c"])
        #expect(try await store.sagasOfUnfinishedJobs().map(\.id) == ["a:a-h", "c:c-h"])
        await #expect(throws: SagaStoreError.sagasUnfinished(jobId: "a", sagaIds: ["a:a-h"])) {
            try await store.setJobState(jobId: "a", to: .rejected, report: nil, reason: "x", at: Fixture.at(9), outbox: [])
        }
    }
}
