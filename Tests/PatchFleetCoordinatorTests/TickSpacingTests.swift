import Foundation
import PatchFleetCoordinator
import PatchFleetCore
import PatchFleetSimulator
import PatchFleetStore
import PatchFleetTestSupport
import PatchFleetWire
import PatchFleetWorker
import Synchronization
import Testing

/// A host that finishes frees its cluster's slot. With a tick spacing the
/// tick it asks for may come later, but never gets lost: it is owed, and the
/// service's timer (`tickIfDue`) runs it once the spacing has passed.
/// Driven in-process: the engine on an in-memory store, the worker's
/// executor on a zero-latency simulated datacenter, a hand-moved clock.
@Suite("Coordinator tick spacing")
struct TickSpacingTests {
    /// The engine's monotonic clock, moved by hand.
    final class HandClock: Sendable {
        let base = ContinuousClock.now
        let offset = Mutex<Duration>(.zero)
        func now() -> ContinuousClock.Instant { base + offset.withLock { $0 } }
        func advance(_ by: Duration) { offset.withLock { $0 += by } }
    }

    /// Holds the first inventory read after it is armed until released.
    final class Gate: Sendable {
        private let state = Mutex<(armed: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))
        func arm() { state.withLock { $0.armed = true } }
        var isHolding: Bool { state.withLock { $0.waiter != nil } }
        func release() { state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }?.resume() }
        func passOrWait() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let held = state.withLock { state -> Bool in
                    guard state.armed else { return false }
                    (state.armed, state.waiter) = (false, continuation)
                    return true
                }
                if !held { continuation.resume() }
            }
        }
    }

    /// The datacenter as the coordinator reads it, its inventory read gated.
    struct GatedDatacenter: ForwardingVirtualizationBackend {
        let base: any VirtualizationBackend
        let gate: Gate

        func listClusters() async throws(BackendError) -> [Cluster] {
            await gate.passOrWait()
            return try await base.listClusters()
        }
    }

    struct Rig {
        let engine: CoordinatorEngine
        let store: InMemorySagaStore
        let executor: CommandExecutor
        let clock: VirtualClock
        let hand: HandClock
        let gate = Gate()
        let topology = FleetTopology(prefix: "tick")

        init(spacing: Duration) {
            var inventory = Inventory()
            inventory.clusters = [Cluster(name: "C1")]
            inventory.hosts = ["H1", "H2"].map { Host(name: $0, cluster: "C1", memoryMB: 65_536) }
            inventory.vms = [VM(name: "vm1", memoryMB: 2_048, host: "H1"), VM(name: "vm2", memoryMB: 2_048, host: "H2")]
            inventory.collections = [DeviceCollection(name: "All", members: ["H1", "H2"])]
            inventory.updateLists = [UpdateList(name: "Monthly", updateIds: ["KB1"])]
            let clock = VirtualClock(start: Instant(secondsSinceEpoch: 1_800_000_000))
            let datacenter = SimulatedDatacenter(configuration: LabConfiguration(inventory: inventory, durations: .instant),
                                                 clock: clock)
            let hand = HandClock()
            store = InMemorySagaStore()
            engine = CoordinatorEngine(store: store, topology: FleetTopology(prefix: "tick"),
                                       virtualization: GatedDatacenter(base: datacenter, gate: gate),
                                       updates: datacenter, updateLists: inventory.updateLists, now: { clock.now() },
                                       minimumTickSpacing: spacing, monotonicNow: { hand.now() })
            executor = CommandExecutor(virtualization: datacenter, updates: datacenter,
                                       timing: ExecutorTiming(now: { clock.now().secondsSinceEpoch }, sleep: { _ in }, pollSeconds: 1))
            self.clock = clock
            self.hand = hand
        }

        func submit() async throws {
            var policy = Policy()
            policy.settleDelaySeconds = 0
            policy.pollIntervalSeconds = 1
            let spec = JobSpec(id: "spacing", targets: JobTargets(collection: "All"), updates: UpdateSelection(updateList: "Monthly"),
                               policy: policy)
            let outcome = await engine.submit(JobSubmission(job: spec), messageId: "submit-spacing")
            #expect(outcome == .accepted(hosts: 2))
        }

        func sagas() async throws -> [HostSagaState] { try await store.sagas(jobId: "spacing").map(\.state) }

        /// Carries out what the outbox holds, as workers and timers would,
        /// until `host`'s saga is done.
        func runUntilDone(_ host: String) async throws {
            for _ in 0..<500 {
                if try await sagas().first(where: { $0.host == host })?.isDone == true { return }
                let pending = try await store.pendingOutbox(limit: 100, readyAt: clock.now())
                var results: [(result: ResultMessage, messageId: String)] = []
                for entry in pending {
                    if entry.exchange == topology.tasksExchange {
                        let task = try WireCoding.decode(TaskMessage.self, from: entry.body)
                        let answer = await executor.execute(task.command)
                        results.append((ResultMessage(answering: task.command, taskMessageId: entry.id, at: clock.now(), answer),
                                        "result:\(entry.id)"))
                    } else if entry.exchange == topology.resultsExchange {
                        results.append((try WireCoding.decode(ResultMessage.self, from: entry.body), entry.id))
                    }
                }
                try await store.markPublished(ids: pending.map(\.id), at: clock.now())
                if results.isEmpty { clock.advance(to: clock.now().adding(seconds: 1)) }
                _ = await engine.apply(batch: results)
            }
            Issue.record("\(host) did not finish")
        }
    }

    @Test func withoutSpacingTheNextHostStartsAsTheFirstFinishes() async throws {
        let rig = Rig(spacing: .zero)
        try await rig.submit()
        let first = try #require(try await rig.sagas().first { !$0.isPending })
        try await rig.runUntilDone(first.host)
        let second = try #require(try await rig.sagas().first { $0.host != first.host })
        #expect(!second.isPending, "the batch that finished \(first.host) ticked and started \(second.host)")
    }

    @Test func aTickAskedForTooSoonIsOwedAndRunOnceTheSpacingHasPassed() async throws {
        let rig = Rig(spacing: .seconds(60))
        try await rig.submit()
        let first = try #require(try await rig.sagas().first { !$0.isPending })
        try await rig.runUntilDone(first.host)
        func secondPending() async throws -> Bool {
            try #require(try await rig.sagas().first { $0.host != first.host }).isPending
        }
        #expect(try await secondPending(), "finishing within the spacing of the last tick owes a tick instead of running it")
        await rig.engine.tickIfDue(interval: .seconds(3_600))
        #expect(try await secondPending(), "not yet: the spacing has not passed and the regular interval neither")
        rig.hand.advance(.seconds(61))
        await rig.engine.tickIfDue(interval: .seconds(3_600))
        #expect(try await !secondPending(), "the owed tick ran as soon as the spacing had passed")
    }

    /// The actor is reentrant: while one tick waits on the inventory, a host
    /// that finishes asks for another. That one is owed, not run beside the
    /// first (two ticks deciding on reads of different moments could start
    /// two hosts of one cluster).
    @Test func aTickAskedForWhileOneRunsIsOwedNotRunBesideIt() async throws {
        let rig = Rig(spacing: .zero)
        try await rig.submit()
        let first = try #require(try await rig.sagas().first { !$0.isPending })
        rig.gate.arm()
        let running = Task { await rig.engine.tick() }
        while !rig.gate.isHolding { await Task.yield() }
        try await rig.runUntilDone(first.host)
        let second = { try #require(try await rig.sagas().first { $0.host != first.host }) }
        #expect(try await second().isPending, "no second tick ran while the first waited on the inventory")
        rig.gate.release()
        await running.value
        #expect(try await !second().isPending, "the running tick, reading the sagas after the inventory, started it")
        #expect(await rig.engine.tickIfDue(interval: .seconds(3_600)), "and the owed tick still ran")
    }
}
