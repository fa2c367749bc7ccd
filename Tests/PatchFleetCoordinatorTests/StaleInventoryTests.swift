import Foundation
import PatchFleetCore
import PatchFleetSimulator
import PatchFleetStore
import PatchFleetWire
import PatchFleetWorker
import Testing
@testable import PatchFleetCoordinator

/// With real managers the scheduler reuses its inventory read for a while
/// (`inventoryMaxAge`, 15 s by default: each read is PowerShell sessions).
/// A decision to take a host out is never acted on over such a reuse: a
/// peer that went into someone's maintenance since the read must count
/// against the cluster's `maxUnavailablePerCluster`.
@Suite("Scheduling over a reused inventory")
struct StaleInventoryTests {
    @Test func aHostIsOnlyStartedOverAFreshRead() async throws {
        var inventory = Inventory()
        inventory.clusters = [Cluster(name: "C1")]
        inventory.hosts = ["H1", "H2", "H3"].map { Host(name: $0, cluster: "C1", memoryMB: 65_536) }
        inventory.vms = [VM(name: "vm1", memoryMB: 2_048, host: "H1"), VM(name: "vm2", memoryMB: 2_048, host: "H2")]
        inventory.updateLists = [UpdateList(name: "Monthly", updateIds: ["KB1"])]
        let clock = VirtualClock(start: Instant(secondsSinceEpoch: 1_800_000_000))
        let datacenter = SimulatedDatacenter(configuration: LabConfiguration(inventory: inventory, durations: .instant), clock: clock)
        let hand = TickSpacingTests.HandClock()
        let store = InMemorySagaStore()
        let topology = FleetTopology(prefix: "stale")
        let engine = CoordinatorEngine(store: store, topology: topology, virtualization: datacenter, updates: datacenter,
                                       updateLists: inventory.updateLists, now: { clock.now() },
                                       inventoryMaxAge: .seconds(3_600), minimumTickSpacing: .seconds(60), monotonicNow: { hand.now() })
        let executor = CommandExecutor(virtualization: datacenter, updates: datacenter,
                                       timing: ExecutorTiming(now: { clock.now().secondsSinceEpoch }, sleep: { _ in }, pollSeconds: 1))
        var policy = Policy()
        policy.settleDelaySeconds = 0
        policy.pollIntervalSeconds = 1
        // H3 is not in the job: only someone else can take it out.
        let spec = JobSpec(id: "stale", targets: JobTargets(hosts: ["H1", "H2"]), updates: UpdateSelection(updateList: "Monthly"),
                           policy: policy)
        #expect(await engine.submit(JobSubmission(job: spec), messageId: "submit-stale") == .accepted(hosts: 2))
        func sagas() async throws -> [HostSagaState] { try await store.sagas(jobId: "stale").map(\.state) }
        let first = try #require(try await sagas().first { !$0.isPending }).host

        // The first host patched, through the engine as the workers would answer.
        for _ in 0..<300 {
            if try await sagas().first(where: { $0.host == first })?.isDone == true { break }
            let pending = try await store.pendingOutbox(limit: 100, readyAt: clock.now())
            try await store.markPublished(ids: pending.map(\.id), at: clock.now())
            var results: [(result: ResultMessage, messageId: String)] = []
            for entry in pending {
                if entry.exchange == topology.tasksExchange {
                    let task = try WireCoding.decode(TaskMessage.self, from: entry.body)
                    results.append((ResultMessage(answering: task.command, taskMessageId: entry.id, at: clock.now(),
                                                  await executor.execute(task.command)), "result:\(entry.id)"))
                } else if entry.exchange == topology.resultsExchange {
                    results.append((try WireCoding.decode(ResultMessage.self, from: entry.body), entry.id))
                }
            }
            if results.isEmpty { clock.advance(to: clock.now().adding(seconds: 1)) }
            // Finishing asks for a tick; within the spacing it is owed, not
            // run, so the test's own tick below is the one that decides.
            _ = await engine.apply(batch: results)
        }
        #expect(try await sagas().first { $0.host == first }?.isDone == true)
        let second = try #require(try await sagas().first { $0.host != first })

        // An administrator puts H3 into maintenance; the scheduler's last
        // read (an hour may pass before it expires) still shows it up.
        #expect(second.isPending)
        try await datacenter.enterMaintenance(host: "H3", migrateRunningVMs: false)
        await engine.tick()
        let after = try #require(try await sagas().first { $0.host == second.host })
        #expect(after.isPending, "\(second.host) was started with H3 out of service and maxUnavailablePerCluster 1")

        // H3 back in service: once the read that saw it out expires (a reuse
        // can only hold a start back, never let one through), a tick starts it.
        try await datacenter.exitMaintenance(host: "H3")
        hand.advance(.seconds(3_601))
        await engine.tick()
        #expect(try await !(sagas().first { $0.host == second.host }!.isPending))
    }
}
