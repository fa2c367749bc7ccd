import Foundation
import Testing
@testable import PatchFleetCore

@Suite struct SchedulerTests {
    /// Two clusters of three hosts, every host running one 4 GB VM.
    static func twoClusters() -> Inventory {
        var inventory = Inventory(clusters: [Cluster(name: "A"), Cluster(name: "B")])
        for cluster in ["A", "B"] {
            for index in 1...3 {
                inventory.hosts.append(Host(name: "\(cluster)\(index)", cluster: cluster, memoryMB: 65536))
                inventory.vms.append(VM(name: "vm-\(cluster)\(index)", memoryMB: 4096, host: "\(cluster)\(index)"))
            }
        }
        return inventory
    }

    static func sagas(_ inventory: Inventory, policy: Policy = Policy()) -> [HostSagaState] {
        inventory.hosts.map {
            HostSagaState(jobId: "j", target: TargetHost(host: $0.name, cluster: $0.cluster), policy: policy,
                          updateIds: ["KB1"], deploymentCollection: "c")
        }
    }

    static func started(_ saga: HostSagaState, at now: Instant = Fixtures.t0) -> HostSagaState {
        HostSaga.reduce(saga, .control(saga.sagaId, at: now, .start)).0
    }

    static func finished(_ saga: HostSagaState, _ body: EventBody, at now: Instant = Fixtures.t0) -> HostSagaState {
        HostSaga.reduce(saga, .control(saga.sagaId, at: now, body)).0
    }

    @Test func neverMoreThanMaxUnavailablePerCluster() {
        let inventory = Self.twoClusters()
        let decision = Scheduler().decide(SchedulingInput(policy: Policy(), sagas: Self.sagas(inventory), inventory: inventory, now: Fixtures.t0))
        #expect(decision.start.filter { $0.hasPrefix("A") }.count == 1)
        #expect(decision.start.filter { $0.hasPrefix("B") }.count == 1)
        var two = Policy()
        two.maxUnavailablePerCluster = 2
        let wider = Scheduler().decide(SchedulingInput(policy: two, sagas: Self.sagas(inventory, policy: two), inventory: inventory, now: Fixtures.t0))
        #expect(wider.start.filter { $0.hasPrefix("A") }.count == 2)
    }

    @Test func runningSagaHoldsItsClusterSlot() {
        let inventory = Self.twoClusters()
        var sagas = Self.sagas(inventory)
        sagas[0] = Self.started(sagas[0])
        let decision = Scheduler().decide(SchedulingInput(policy: Policy(), sagas: sagas, inventory: inventory, now: Fixtures.t0))
        #expect(!decision.start.contains { $0.hasPrefix("A") })
        #expect(decision.waiting.contains { $0.host == "A2" && $0.reason.contains("unavailability limit") })
    }

    @Test func hostsOutOfServiceForOtherReasonsCountAgainstTheLimit() {
        var inventory = Self.twoClusters()
        inventory.hosts[0].status = .maintenance   // A1: an administrator's maintenance, not ours
        inventory.vms.removeAll { $0.host == "A1" }
        let sagas = Self.sagas(inventory).filter { $0.host != "A1" }
        let decision = Scheduler().decide(SchedulingInput(policy: Policy(), sagas: sagas, inventory: inventory, now: Fixtures.t0))
        #expect(!decision.start.contains { $0.hasPrefix("A") })
    }

    @Test func clustersRunInParallelUpToMaxParallelClusters() {
        let inventory = Self.twoClusters()
        var policy = Policy()
        policy.maxParallelClusters = 1
        let decision = Scheduler().decide(SchedulingInput(policy: policy, sagas: Self.sagas(inventory, policy: policy), inventory: inventory, now: Fixtures.t0))
        #expect(decision.start.count == 1)
        #expect(decision.waiting.contains { $0.reason.contains("maxParallelClusters") })
    }

    @Test func clusterStopsAfterMaxFailedHosts() {
        let inventory = Self.twoClusters()
        var sagas = Self.sagas(inventory)
        // A1 failed for good (e.g. precheck kept failing).
        var failing = Self.started(sagas[0])
        for _ in 0...failing.policy.maxRetriesPerHost {
            let answer = SagaEvent(sagaId: failing.sagaId, sagaVersion: failing.version, now: Fixtures.t0,
                                   body: failing.awaiting == .wakeAt ? .timerFired
                                       : .commandFailed(CommandFailure(step: .observeCluster, error: BackendError(.unreachable, "down"))))
            failing = HostSaga.reduce(failing, answer).0
            if failing.awaiting == .wakeAt {
                failing = HostSaga.reduce(failing, SagaEvent(sagaId: failing.sagaId, sagaVersion: failing.version, now: Fixtures.t0, body: .timerFired)).0
            }
        }
        #expect(failing.outcome?.kind == .failed)
        sagas[0] = failing
        let decision = Scheduler().decide(SchedulingInput(policy: Policy(), sagas: sagas, inventory: inventory, now: Fixtures.t0))
        #expect(Set(decision.skip.map(\.host)) == ["A2", "A3"])
        #expect(decision.skip.allSatisfy { $0.reason.contains("maxFailedHosts") })
        #expect(decision.start.contains { $0.hasPrefix("B") })
    }

    @Test func noDrainWithoutCapacity() {
        var inventory = Inventory(clusters: [Cluster(name: "A")])
        inventory.hosts = [Host(name: "A1", cluster: "A", memoryMB: 16384), Host(name: "A2", cluster: "A", memoryMB: 16384)]
        inventory.vms = [VM(name: "big1", memoryMB: 12288, host: "A1"), VM(name: "big2", memoryMB: 12288, host: "A2")]
        let decision = Scheduler().decide(SchedulingInput(policy: Policy(), sagas: Self.sagas(inventory), inventory: inventory, now: Fixtures.t0))
        #expect(decision.start.isEmpty)
        #expect(decision.waiting.allSatisfy { $0.reason.contains("insufficient capacity") })
    }

    @Test func twoDrainsInOneClusterMustFitTogether() {
        var inventory = Inventory(clusters: [Cluster(name: "A")])
        inventory.hosts = (1...3).map { Host(name: "A\($0)", cluster: "A", memoryMB: 32768) }
        inventory.vms = [VM(name: "v1", memoryMB: 16384, host: "A1"), VM(name: "v2", memoryMB: 16384, host: "A2"),
                         VM(name: "v3", memoryMB: 8192, host: "A3")]
        var policy = Policy()
        policy.maxUnavailablePerCluster = 2
        policy.capacityHeadroomPercent = 0
        let decision = Scheduler().decide(SchedulingInput(policy: policy, sagas: Self.sagas(inventory, policy: policy), inventory: inventory, now: Fixtures.t0))
        // A3 goes first (least to move); its VM will land on A1. Each of A1 and
        // A2 would fit on its own against today's placement, but not once A3's
        // VM has moved: the second slot stays unused.
        #expect(decision.start == ["A3"])
        #expect(decision.waiting.contains { $0.host == "A1" && $0.reason.contains("insufficient capacity") })
    }

    @Test func hostHoldingVMsAnotherSagaMustMoveHomeWaits() {
        var inventory = Self.twoClusters()
        var policy = Policy()
        policy.maxUnavailablePerCluster = 3   // only the Rule 3 guard can stop it
        var sagas = Self.sagas(inventory, policy: policy)
        // A1's saga drained vm-A1 to A2 and has not failed it back yet.
        var harness = SagaHarness(sagas[0], inventory: inventory)
        harness.send(.start)
        while harness.outstanding?.body.kind != .deployUpdates { harness.answer(harness.happyAnswer(harness.outstanding!.body)) }
        inventory = harness.inventory
        sagas[0] = harness.state
        let destination = try! #require(sagas[0].vmsAwaitingFailback.first?.movedTo)
        let decision = Scheduler().decide(SchedulingInput(policy: policy, sagas: sagas, inventory: inventory, now: harness.now))
        #expect(!decision.start.contains(destination))
        #expect(decision.waiting.contains { $0.host == destination && $0.reason.contains("must go home first") }, Comment(rawValue: String(describing: decision)))
    }

    @Test func healthGateBlocksClusterWithUnhealthyHost() {
        var inventory = Self.twoClusters()
        inventory.hosts[2].healthy = false   // A3
        let sagas = Self.sagas(inventory).filter { $0.host != "A3" }
        let decision = Scheduler().decide(SchedulingInput(policy: Policy(), sagas: sagas, inventory: inventory, now: Fixtures.t0))
        #expect(!decision.start.contains { $0.hasPrefix("A") })
        #expect(decision.waiting.contains { $0.host == "A1" && $0.reason.contains("health gate") })
    }

    @Test func settleDelayBetweenHostsOfACluster() {
        let inventory = Self.twoClusters()
        var sagas = Self.sagas(inventory)
        var harness = SagaHarness(sagas[0], inventory: inventory)
        harness.send(.start)
        harness.run()
        #expect(harness.outcome == .patched)
        sagas[0] = harness.state
        let finished = harness.state.finishedAt!
        let early = Scheduler().decide(SchedulingInput(policy: Policy(), sagas: sagas, inventory: inventory, now: finished.adding(seconds: 10)))
        #expect(!early.start.contains { $0.hasPrefix("A") })
        // The settle delay runs from the host's return to service (its failback may still follow).
        let returned = try! #require(harness.state.returnedAt)
        #expect(returned <= finished)
        #expect(early.nextEvaluationAt == returned.adding(seconds: Policy().settleDelaySeconds))
        let later = Scheduler().decide(SchedulingInput(policy: Policy(), sagas: sagas, inventory: inventory, now: finished.adding(seconds: 301)))
        #expect(later.start.contains { $0.hasPrefix("A") })
    }

    @Test func withTwoSlotsAReturnedHostHoldsItsSlotOnlyWhileSettling() {
        let inventory = Self.twoClusters()
        var policy = Policy()
        policy.maxUnavailablePerCluster = 2
        var sagas = Self.sagas(inventory, policy: policy)
        var harness = SagaHarness(sagas[0], inventory: inventory)
        harness.send(.start)
        harness.run()
        #expect(harness.outcome == .patched)
        sagas[0] = harness.state
        let finished = harness.state.finishedAt!
        // A1 settling holds one of the two slots: one more host of A may start, not two.
        let early = Scheduler().decide(SchedulingInput(policy: policy, sagas: sagas, inventory: harness.inventory,
                                                       now: finished.adding(seconds: 10)))
        #expect(early.start.filter { $0.hasPrefix("A") }.count == 1)
        #expect(early.waiting.contains { $0.reason.contains("settling") })
        #expect(early.nextEvaluationAt == harness.state.returnedAt!.adding(seconds: policy.settleDelaySeconds))
    }

    @Test func aHostThisJobRebootsDoesNotCloseTheHealthGate() {
        var inventory = Self.twoClusters()
        var policy = Policy()
        policy.maxUnavailablePerCluster = 2
        var sagas = Self.sagas(inventory, policy: policy)
        sagas[0] = Self.started(sagas[0])
        inventory.hosts[0].status = .rebooting   // A1, ours, mid-reboot
        inventory.vms.removeAll { $0.host == "A1" }
        let decision = Scheduler().decide(SchedulingInput(policy: policy, sagas: sagas, inventory: inventory, now: Fixtures.t0))
        // It counts against the limit (one slot left), but does not block the second slot.
        #expect(decision.start.filter { $0.hasPrefix("A") }.count == 1)
        #expect(!decision.waiting.contains { $0.reason.contains("health gate") })
    }

    @Test func hostsWithLessToMoveGoFirstAndOrderIsStable() {
        var inventory = Self.twoClusters()
        inventory.vms.append(VM(name: "extra", memoryMB: 8192, host: "A1"))
        inventory.vms.removeAll { $0.host == "A3" }
        let ordered = Scheduler.order(Self.sagas(inventory).filter { $0.cluster == "A" }, inventory: inventory).map(\.host)
        #expect(ordered == ["A3", "A2", "A1"])
        let even = Scheduler.order(Self.sagas(Self.twoClusters()).filter { $0.cluster == "B" }, inventory: Self.twoClusters()).map(\.host)
        #expect(even == ["B1", "B2", "B3"])
    }

    /// The index's one-pass sums must be what the scheduler computed per
    /// cluster before, to the last bit: the cluster order (longest remaining
    /// work first) compares drain estimates, and the host order compares loads.
    @Test func theIndexSumsEqualThePerClusterOnes() {
        var inventory = Self.twoClusters()
        inventory.hosts.append(Host(name: "S1", cluster: nil, memoryMB: 65536))  // standalone
        inventory.vms += (0 ..< 40).map { index in
            VM(name: "extra\(index)", memoryMB: 1000 + 37 * index, power: [.running, .stopped, .saved, .running][index % 4],
               highlyAvailable: index % 7 != 0, host: ["A1", "A2", "B1", "B3", "S1", "gone"][index % 6])
        }
        let policy = Policy()
        let sagas = Self.sagas(inventory)
        // A saga submitted in B whose host is in A now: B's slice has none of its load.
        let strays = [HostSagaState(jobId: "j", target: TargetHost(host: "A1", cluster: "B"), policy: policy,
                                    updateIds: ["KB1"], deploymentCollection: "c")] + sagas.filter { $0.cluster == "B" }
        func expectSameAsPerCluster(_ inventory: Inventory, _ what: String) {
            let index = ClusterIndex(inventory, estimates: policy.estimates)
            for host in inventory.hosts.map(\.name) + ["gone", "nowhere"] {
                let whole = DurationModel.drainSeconds(host: host, inventory: inventory, policy: policy)
                #expect(index.drainSeconds(host, inCluster: nil) == whole, "\(what): \(host)")
                for cluster in ["A", "B"] {
                    let slice = index.snapshot(cluster).inventory
                    #expect(index.drainSeconds(host, inCluster: cluster)
                            == DurationModel.drainSeconds(host: host, inventory: slice, policy: policy), "\(what): \(host) in \(cluster)")
                }
            }
            // Host order: the same as from the cluster's slice, or the whole inventory for a standalone host.
            for cluster in ["A", "B"] {
                let group = sagas.filter { $0.cluster == cluster }
                #expect(Scheduler.order(group, index: index, cluster: cluster).map(\.host)
                        == Scheduler.order(group, inventory: index.snapshot(cluster).inventory).map(\.host), "\(what)")
            }
            #expect(Scheduler.order(sagas, index: index, cluster: nil).map(\.host)
                    == Scheduler.order(sagas, inventory: inventory).map(\.host), "\(what)")
            #expect(Scheduler.order(strays, index: index, cluster: "B").map(\.host)
                    == Scheduler.order(strays, inventory: index.snapshot("B").inventory).map(\.host), "\(what)")
        }
        expectSameAsPerCluster(inventory, "one listing per host")
        let index = ClusterIndex(inventory, estimates: policy.estimates)
        #expect(index.drainSeconds("A1", inCluster: "A") > 0)
        #expect(index.drainSeconds("A1", inCluster: "B") == 0, "a saga submitted in B whose host is now in A")
        #expect(index.load("A1", inCluster: "B") == Scheduler.Load(memoryMB: 0, vmCount: 0))
        // A host name listed twice: its VMs count in the cluster of its last
        // listing with one, in the sums as in the slices.
        var twice = inventory
        twice.hosts.append(Host(name: "A1", cluster: "B", memoryMB: 65536))
        expectSameAsPerCluster(twice, "A1 listed in A, then in B")
        #expect(ClusterIndex(twice, estimates: policy.estimates).drainSeconds("A1", inCluster: "B") > 0)
        var thenStandalone = inventory
        thenStandalone.hosts.append(Host(name: "A1", cluster: nil, memoryMB: 65536))
        expectSameAsPerCluster(thenStandalone, "A1 listed in A, then without a cluster")
    }

    @Test func maintenanceWindowOnlyStartsHostsThatFit() {
        let inventory = Self.twoClusters()
        var policy = Policy()
        let predicted = DurationModel.predictSeconds(host: "A1", inventory: inventory, policy: policy)
        policy.maintenanceWindow = MaintenanceWindow(start: Fixtures.t0, end: Fixtures.t0.adding(seconds: predicted - 1))
        let tight = Scheduler().decide(SchedulingInput(policy: policy, sagas: Self.sagas(inventory, policy: policy), inventory: inventory, now: Fixtures.t0))
        #expect(tight.start.isEmpty)
        #expect(tight.waiting.allSatisfy { $0.reason.contains("does not fit") })
        policy.maintenanceWindow = MaintenanceWindow(start: Fixtures.t0, end: Fixtures.t0.adding(seconds: predicted + 1))
        let fits = Scheduler().decide(SchedulingInput(policy: policy, sagas: Self.sagas(inventory, policy: policy), inventory: inventory, now: Fixtures.t0))
        #expect(fits.start.count == 2)
        let closed = Scheduler().decide(SchedulingInput(policy: policy, sagas: Self.sagas(inventory, policy: policy), inventory: inventory,
                                                        now: Fixtures.t0.adding(seconds: predicted + 2)))
        #expect(closed.skip.count == 6)
    }

    @Test func pausedOrCancelledJobStartsNothing() {
        let inventory = Self.twoClusters()
        let paused = Scheduler().decide(SchedulingInput(policy: Policy(), sagas: Self.sagas(inventory), inventory: inventory,
                                                        now: Fixtures.t0, control: JobControl(paused: true)))
        #expect(paused.start.isEmpty)
        #expect(paused.waiting.count == 6)
        let cancelled = Scheduler().decide(SchedulingInput(policy: Policy(), sagas: Self.sagas(inventory), inventory: inventory,
                                                           now: Fixtures.t0, control: JobControl(cancelled: true)))
        #expect(cancelled.start.isEmpty)
    }

    @Test func dryRunJobStartsNothing() {
        var policy = Policy()
        policy.dryRun = true
        let inventory = Self.twoClusters()
        let decision = Scheduler().decide(SchedulingInput(policy: policy, sagas: Self.sagas(inventory, policy: policy), inventory: inventory, now: Fixtures.t0))
        #expect(decision.start.isEmpty)
        #expect(decision.skip.count == 6)
    }

    @Test func dryRunPlanListsOrderMovesAndDurations() throws {
        var inventory = Self.twoClusters()
        inventory.updateLists = [UpdateList(name: "Nov", updateIds: ["KB1"])]
        inventory.vms.append(VM(name: "legacy", memoryMB: 1024, highlyAvailable: false, host: "B2"))
        var policy = Policy()
        policy.dryRun = true
        let spec = JobSpec(id: "j", targets: JobTargets(clusters: ["A", "B"]), updates: UpdateSelection(updateList: "Nov"), policy: policy)
        let plan = DryRunPlanner.plan(spec, inventory: inventory, startingAt: Fixtures.t0)
        #expect(plan.problems.isEmpty)
        #expect(plan.hosts.count == 6)
        #expect(plan.hosts.map(\.order) == Array(0..<6))
        let a1 = try #require(plan.hosts.first { $0.host == "A1" })
        #expect(a1.action == .patch)
        #expect(a1.moves.map(\.vm) == ["vm-A1"])
        #expect(a1.moves.first?.to != nil && a1.moves.first?.to != "A1")
        #expect(a1.predictedSeconds > 0)
        let b2 = try #require(plan.hosts.first { $0.host == "B2" })
        #expect(b2.action == .hold)
        #expect(b2.reason?.contains("Rule 1") == true)
        // One cluster's hosts never overlap (maxUnavailablePerCluster 1).
        let aHosts = plan.hosts.filter { $0.cluster == "A" }.sorted { $0.predictedStart < $1.predictedStart }
        for (earlier, later) in zip(aHosts, aHosts.dropFirst()) {
            #expect(later.predictedStart >= earlier.predictedEnd)
        }
        #expect(plan.predictedEnd > plan.predictedStart)
    }
}
