import Foundation
import PatchFleetCore
import PatchFleetSimulator
import PatchFleetStore
import PatchFleetWire
import PatchFleetWorker
import Synchronization
import Testing
@testable import PatchFleetCoordinator

/// Pause, resume and cancel against a saga that moves on while the control
/// step is being applied: the engine is an actor, reentrant at every
/// `await`, and a worker's result may land between the control step's read
/// of the sagas and its write. The store refuses the stale write; the
/// control step must read that saga again and apply itself again, never
/// drop it (a host left unpaused, paused for good, or patched after a cancel).
@Suite("Control steps racing results")
struct ControlRaceTests {
    /// A store that runs `beforeControlWrite` once, just before the first
    /// write of several transitions none of which answers a message (the
    /// control step's), and otherwise is the in-memory store.
    final class RacingStore: SagaStore {
        let inner = InMemorySagaStore()
        private let hook = Mutex<(@Sendable () async -> Void)?>(nil)

        func beforeNextControlWrite(_ body: @escaping @Sendable () async -> Void) { hook.withLock { $0 = body } }

        func apply(_ transitions: [SagaTransition]) async throws(SagaStoreError) -> [ApplyResult] {
            if transitions.allSatisfy({ $0.inboxMessageId == nil }), let body = hook.withLock({ h in defer { h = nil }; return h }) {
                await body()
            }
            return try await inner.apply(transitions)
        }

        func createJob(_ job: JobRecord, sagas: [HostSagaState], outbox: [OutboxMessage]) async throws(SagaStoreError) {
            try await inner.createJob(job, sagas: sagas, outbox: outbox)
        }
        func setJobState(jobId: String, to state: PatchFleetStore.JobState, report: JobReport?, reason: String?, at: Instant,
                         outbox: [OutboxMessage]) async throws(SagaStoreError) {
            try await inner.setJobState(jobId: jobId, to: state, report: report, reason: reason, at: at, outbox: outbox)
        }
        func job(id: String) async throws(SagaStoreError) -> JobRecord? { try await inner.job(id: id) }
        func jobs(limit: Int) async throws(SagaStoreError) -> [JobRecord] { try await inner.jobs(limit: limit) }
        func unfinishedJobs() async throws(SagaStoreError) -> [JobRecord] { try await inner.unfinishedJobs() }
        func saga(id: String) async throws(SagaStoreError) -> StoredSaga? { try await inner.saga(id: id) }
        func sagas(jobId: String) async throws(SagaStoreError) -> [StoredSaga] { try await inner.sagas(jobId: jobId) }
        func sagas(jobId: String, reusing known: [String: StoredSaga]) async throws(SagaStoreError) -> [StoredSaga] {
            try await inner.sagas(jobId: jobId, reusing: known)
        }
        func sagasOfUnfinishedJobs() async throws(SagaStoreError) -> [StoredSaga] { try await inner.sagasOfUnfinishedJobs() }
        func pendingOutbox(limit: Int, readyAt: Instant?) async throws(SagaStoreError) -> [OutboxMessage] {
            try await inner.pendingOutbox(limit: limit, readyAt: readyAt)
        }
        @discardableResult
        func markPublished(ids: [String], at: Instant) async throws(SagaStoreError) -> Int {
            try await inner.markPublished(ids: ids, at: at)
        }
        @discardableResult
        func pruneInbox(olderThan cutoff: Instant) async throws(SagaStoreError) -> Int { try await inner.pruneInbox(olderThan: cutoff) }
        @discardableResult
        func prunePublishedOutbox(olderThan cutoff: Instant) async throws(SagaStoreError) -> Int {
            try await inner.prunePublishedOutbox(olderThan: cutoff)
        }
    }

    struct Rig {
        let store = RacingStore()
        let engine: CoordinatorEngine
        let executor: CommandExecutor
        let clock = VirtualClock(start: Instant(secondsSinceEpoch: 1_800_000_000))
        let topology = FleetTopology(prefix: "race")

        init() {
            var inventory = Inventory()
            inventory.clusters = [Cluster(name: "C1")]
            inventory.hosts = ["H1", "H2", "H3"].map { Host(name: $0, cluster: "C1", memoryMB: 65_536) }
            inventory.vms = [VM(name: "vm1", memoryMB: 2_048, host: "H1"), VM(name: "vm2", memoryMB: 2_048, host: "H2")]
            inventory.updateLists = [UpdateList(name: "Monthly", updateIds: ["KB1"])]
            let clock = self.clock
            let datacenter = SimulatedDatacenter(configuration: LabConfiguration(inventory: inventory, durations: .instant), clock: clock)
            engine = CoordinatorEngine(store: store, topology: topology, virtualization: datacenter, updates: datacenter,
                                       updateLists: inventory.updateLists, now: { clock.now() })
            executor = CommandExecutor(virtualization: datacenter, updates: datacenter,
                                       timing: ExecutorTiming(now: { clock.now().secondsSinceEpoch }, sleep: { _ in }, pollSeconds: 1))
        }

        func submit() async throws {
            var policy = Policy()
            policy.settleDelaySeconds = 0
            let spec = JobSpec(id: "race", targets: JobTargets(clusters: ["C1"]), updates: UpdateSelection(updateList: "Monthly"),
                               policy: policy)
            #expect(await engine.submit(JobSubmission(job: spec), messageId: "submit-race") == .accepted(hosts: 3))
        }

        /// The job's one host under way (one slot per cluster).
        func startedHost() async throws -> String {
            let started = try await store.sagas(jobId: "race").filter { !$0.state.isPending }.map(\.state.host)
            #expect(started.count == 1, "\(started)")
            return try #require(started.first)
        }

        func saga(_ host: String) async throws -> HostSagaState {
            try #require(try await store.sagas(jobId: "race").first { $0.state.host == host }).state
        }

        /// A worker answers every task the outbox holds, one result at a
        /// time through the engine, as the results queue would deliver them.
        func answerPendingTasks() async throws -> Int {
            let pending = try await store.pendingOutbox(limit: 100, readyAt: clock.now())
            try await store.markPublished(ids: pending.map(\.id), at: clock.now())
            var answered = 0
            for entry in pending where entry.exchange == topology.tasksExchange {
                let task = try WireCoding.decode(TaskMessage.self, from: entry.body)
                let answer = await executor.execute(task.command)
                let outcome = await engine.apply(ResultMessage(answering: task.command, taskMessageId: entry.id, at: clock.now(), answer),
                                                 messageId: "result:\(entry.id)")
                #expect(outcome == .applied)
                answered += 1
            }
            return answered
        }
    }

    @Test func aPauseRacingAResultStillPausesThatHost() async throws {
        let rig = Rig()
        try await rig.submit()
        let host = try await rig.startedHost()
        let answered = Mutex(0)
        rig.store.beforeNextControlWrite {
            let count = (try? await rig.answerPendingTasks()) ?? 0
            answered.withLock { $0 = count }
        }
        #expect(await rig.engine.control(JobControlRequest(jobId: "race", action: .pause)) == .applied)
        #expect(answered.withLock { $0 } == 1, "\(host)'s task was answered between the pause's read and its write")
        let after = try await rig.saga(host)
        #expect(after.paused, "\(host) moved on meanwhile, and the pause was applied to it again")
        // The task the raced result issued was already on its way; once it is
        // answered, the paused saga holds its next one back.
        _ = try await rig.answerPendingTasks()
        #expect(try await rig.saga(host).paused)
        #expect(try await rig.answerPendingTasks() == 0, "a paused host's next task is held back")
    }

    @Test func aCancelRacingAResultStillCancelsThatHost() async throws {
        let rig = Rig()
        try await rig.submit()
        let host = try await rig.startedHost()
        rig.store.beforeNextControlWrite { _ = try? await rig.answerPendingTasks() }
        #expect(await rig.engine.control(JobControlRequest(jobId: "race", action: .cancel)) == .applied)
        let cancelled = try await rig.saga(host)
        #expect(cancelled.cancelRequested, "\(host) moved on meanwhile, and the cancel was applied to it again: \(cancelled.phase)")
        for other in ["H1", "H2", "H3"] where other != host {
            let saga = try await rig.saga(other)
            #expect(saga.isDone || saga.cancelRequested, "\(other), not started, is cancelled too: \(saga.phase)")
        }
    }
}
