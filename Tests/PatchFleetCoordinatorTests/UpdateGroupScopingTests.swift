import Foundation
import PatchFleetCore
import PatchFleetSimulator
import PatchFleetStore
import PatchFleetTestSupport
import PatchFleetWire
import Synchronization
import Testing
@testable import PatchFleetCoordinator

/// A job naming the patch manager's own update list (a ConfigMgr software
/// update group) deploys to each host only what the manager says it needs:
/// a monthly group holds updates for several OS builds, and an update a
/// host does not need would stay pending there until the install timeout.
@Suite("Update groups scoped per host")
struct UpdateGroupScopingTests {
    /// The simulator's update backend, plus a managed list and what each host does not need.
    final class ManagedLists: ForwardingUpdateBackend {
        let base: any UpdateBackend
        let list: UpdateList
        let notNeeded: [String: Set<String>]
        let asked = Mutex<[[String]]>([])

        init(base: any UpdateBackend, list: UpdateList, notNeeded: [String: Set<String>]) {
            self.base = base
            self.list = list
            self.notNeeded = notNeeded
        }

        func updateList(named name: String) async throws(BackendError) -> UpdateList? { name == list.name ? list : nil }
        func updatesNotNeeded(in list: UpdateList, onHosts hosts: [String]) async throws(BackendError) -> [String: Set<String>] {
            asked.withLock { $0.append(hosts) }
            return notNeeded
        }
    }

    static let group = UpdateList(name: "2026-11 Servers", updateIds: ["guid-cu-2022", "guid-cu-2019", "guid-net"])

    func engine(notNeeded: [String: Set<String>], catalog: [UpdateList] = []) -> (CoordinatorEngine, InMemorySagaStore, ManagedLists) {
        var inventory = Inventory()
        inventory.clusters = [Cluster(name: "C1")]
        inventory.hosts = ["H1", "H2", "H3"].map { Host(name: $0, cluster: "C1", memoryMB: 65_536) }
        let clock = VirtualClock(start: Instant(secondsSinceEpoch: 1_800_000_000))
        let datacenter = SimulatedDatacenter(configuration: LabConfiguration(inventory: inventory, durations: .instant), clock: clock)
        let updates = ManagedLists(base: datacenter, list: Self.group, notNeeded: notNeeded)
        let store = InMemorySagaStore()
        let engine = CoordinatorEngine(store: store, topology: FleetTopology(prefix: "scoped"), virtualization: datacenter,
                                       updates: updates, updateLists: catalog, now: { clock.now() })
        return (engine, store, updates)
    }

    func submit(_ engine: CoordinatorEngine, updates: UpdateSelection) async -> CoordinatorEngine.SubmitOutcome {
        await engine.submit(JobSubmission(job: JobSpec(id: "nov", targets: JobTargets(clusters: ["C1"]), updates: updates)),
                            messageId: "submit-nov")
    }

    @Test func eachHostGetsWhatItNeedsAndOneThatNeedsNothingIsSkippedUntouched() async throws {
        let (engine, store, updates) = engine(notNeeded: ["H1": ["guid-cu-2019"], "H2": ["guid-cu-2019", "guid-cu-2022", "guid-net"]])
        #expect(await submit(engine, updates: UpdateSelection(updateList: "2026-11 Servers")) == .accepted(hosts: 3))
        #expect(updates.asked.withLock { $0 } == [["H1", "H2", "H3"]], "asked once, at submission, for the job's hosts")
        let sagas = Dictionary(uniqueKeysWithValues: try await store.sagas(jobId: "nov").map { ($0.state.host, $0.state) })
        #expect(sagas["H1"]?.updateIds == ["guid-cu-2022", "guid-net"])
        #expect(sagas["H3"]?.updateIds == Self.group.updateIds, "a host the manager says nothing about keeps the whole list")
        let h2 = try #require(sagas["H2"])
        #expect(h2.isDone && h2.outcome?.kind == .skipped && h2.startedAt == nil, "never drained or restarted for nothing")
        #expect(h2.outcome?.reason?.contains("nothing in update list '2026-11 Servers' applies to this host") == true)
        // Announced like any ending: a host event for H2 is in the outbox with the job's.
        let events = try await store.pendingOutbox(limit: 100, readyAt: nil).filter { $0.exchange == FleetTopology(prefix: "scoped").eventsExchange }
        let hostEvents = try events.compactMap { message -> HostStateChange? in
            guard case .host(let change) = try WireCoding.decode(FleetEvent.self, from: message.body).event else { return nil }
            return change
        }
        #expect(hostEvents.contains { $0.host == "H2" && $0.outcome?.kind == .skipped }, "\(hostEvents)")
    }

    /// A host skipped before it ever started holds no cluster slot: with
    /// one cluster at a time, a cluster whose first host needed nothing does
    /// not count as under way beside the one that is.
    @Test func aHostSkippedAtSubmissionHoldsNoClusterSlot() async throws {
        var inventory = Inventory()
        inventory.clusters = [Cluster(name: "C1"), Cluster(name: "C2")]
        inventory.hosts = ["H1", "H2"].map { Host(name: $0, cluster: "C1", memoryMB: 65_536) }
            + ["J1", "J2"].map { Host(name: $0, cluster: "C2", memoryMB: 65_536) }
        var policy = Policy()
        policy.maxParallelClusters = 1
        let sagas = [("H1", "C1"), ("H2", "C1"), ("J1", "C2"), ("J2", "C2")].map { host, cluster in
            HostSagaState(jobId: "nov", target: TargetHost(host: host, cluster: cluster), policy: policy, updateIds: ["guid-cu-2022"],
                          deploymentCollection: "PatchFleet nov")
        }.map { saga -> HostSagaState in
            // H1 and J1 need nothing: skipped at submission, never started.
            guard saga.host == "H1" || saga.host == "J1" else { return saga }
            return HostSaga.reduce(saga, .control(saga.sagaId, at: Instant(secondsSinceEpoch: 0), .skip(ReasonPayload(reason: "nothing applies")))).0
        }
        let decision = Scheduler().decide(SchedulingInput(policy: policy, sagas: sagas, inventory: inventory,
                                                          now: Instant(secondsSinceEpoch: 1), control: JobControl()))
        #expect(decision.start.count == 1, "one cluster at a time: \(decision.start)")
    }

    @Test func idsNamedExplicitlyAreKeptAndCatalogListsAreNeverScoped() async throws {
        let (engine, store, _) = engine(notNeeded: ["H1": ["guid-cu-2019", "guid-net"]])
        let explicit = UpdateSelection(updateList: "2026-11 Servers", updateIds: ["guid-net"])
        #expect(await submit(engine, updates: explicit) == .accepted(hosts: 3))
        #expect(try await store.sagas(jobId: "nov").first { $0.state.host == "H1" }?.state.updateIds == ["guid-cu-2022", "guid-net"])

        let catalog = UpdateList(name: "2026-11 Servers", updateIds: ["KB1"])
        let (fromFile, fileStore, updates) = self.engine(notNeeded: ["H1": ["KB1"]], catalog: [catalog])
        #expect(await submit(fromFile, updates: UpdateSelection(updateList: "2026-11 Servers")) == .accepted(hosts: 3))
        #expect(updates.asked.withLock { $0 }.isEmpty, "the coordinator's own list is the operator's word")
        #expect(try await fileStore.sagas(jobId: "nov").allSatisfy { $0.state.updateIds == ["KB1"] })
    }
}
