import Testing
@testable import PatchFleetCore

/// One example per rule of the host saga, named after the rule.
@Suite struct SagaRuleTests {
    @Test func happyPathDrainsDeploysResumesAndFailsBack() {
        var harness = SagaHarness()
        harness.send(.start)
        let steps = harness.run().map(\.kind)
        #expect(harness.outcome == .patched)
        #expect(steps.first == .observeCluster)
        #expect(steps.contains(.enterMaintenance))
        #expect(steps.contains(.deployUpdates))
        #expect(steps.contains(.exitMaintenance))
        #expect(steps.filter { $0 == .failbackVM }.count == 2)
        #expect(harness.inventory.vms.allSatisfy { $0.host == "C1-H1" })
    }

    @Test func rule1NonHighlyAvailableVMHoldsHostByDefault() {
        let inventory = Fixtures.cluster(extraVMs: [VM(name: "legacy", memoryMB: 2048, highlyAvailable: false, host: "C1-H1")])
        var harness = SagaHarness(inventory: inventory)
        harness.send(.start)
        let steps = harness.run().map(\.kind)
        #expect(harness.outcome == .held)
        #expect(harness.state.outcome?.reason?.contains("legacy") == true)
        #expect(harness.state.outcome?.inMaintenance == false)
        #expect(!steps.contains(.enterMaintenance), "the host must not be touched")
    }

    @Test func rule1SaveStatePolicySavesTheVMAndStartsItAgain() {
        var policy = Policy()
        policy.nonHighlyAvailableVMs = .saveState
        let inventory = Fixtures.cluster(extraVMs: [VM(name: "legacy", memoryMB: 2048, highlyAvailable: false, host: "C1-H1")])
        var harness = SagaHarness(Fixtures.saga(policy: policy), inventory: inventory)
        harness.send(.start)
        let actions = harness.run().compactMap(\.vmActionRequest).filter { $0.vm == "legacy" }.map(\.action.kind)
        #expect(actions == [.saveState, .start])
        #expect(harness.outcome == .patched)
        #expect(harness.inventory.vm(named: "legacy")?.power == .running)
        #expect(!harness.notes(about: "legacy").isEmpty, "saving a VM cuts users off: it must be reported")
    }

    @Test func rule2StoppedHAVMsAreMovedOffByDefault() {
        let inventory = Fixtures.cluster(extraVMs: [VM(name: "spare", memoryMB: 4096, power: .stopped, host: "C1-H1")])
        var harness = SagaHarness(inventory: inventory)
        harness.send(.start)
        let bodies = harness.run()
        let move = bodies.compactMap(\.vmActionRequest).first { $0.vm == "spare" }
        #expect(move?.action.kind == .moveStopped)
        #expect(move?.action.target != nil && move?.action.target != "C1-H1")
        #expect(harness.outcome == .patched)
        // Rule 3 brings it home afterwards, like every VM we moved.
        #expect(harness.inventory.vm(named: "spare")?.host == "C1-H1")
    }

    @Test func rule2LeavePolicyLeavesStoppedVMAndReportsIt() {
        var policy = Policy()
        policy.stoppedHighlyAvailableVMs = .leave
        let inventory = Fixtures.cluster(extraVMs: [VM(name: "spare", memoryMB: 4096, power: .saved, host: "C1-H1")])
        var harness = SagaHarness(Fixtures.saga(policy: policy), inventory: inventory)
        harness.send(.start)
        let bodies = harness.run()
        #expect(!bodies.compactMap(\.vmActionRequest).contains { $0.vm == "spare" })
        #expect(harness.notes(about: "spare").contains { $0.contains("Rule 2") })
        #expect(harness.outcome == .patched)
    }

    @Test func rule3FailbackRestoresRecordedPlacement() {
        var harness = SagaHarness()
        harness.send(.start)
        harness.run()
        #expect(harness.state.placement.map(\.vm) == ["web1", "web2"])
        #expect(harness.state.placement.allSatisfy { $0.host == "C1-H1" })
        #expect(harness.inventory.vm(named: "web1")?.host == "C1-H1")
        #expect(harness.inventory.vm(named: "web2")?.host == "C1-H1")
    }

    @Test func rule3FailbackSkipsAndReportsVMsDeletedOrMovedByOthers() {
        var harness = SagaHarness()
        harness.send(.start)
        harness.run { command, _ in
            guard case .failbackVM(let request) = command else { return nil }
            return request.vm == "web1"
                ? .failbackFinished(FailbackOutcome(vm: "web1", result: .deleted, detail: "VM no longer exists"))
                : .failbackFinished(FailbackOutcome(vm: "web2", result: .movedByOthers, detail: "now on C1-H3"))
        }
        #expect(harness.outcome == .patched)
        #expect(harness.notes(about: "web1").contains { $0.contains("deleted") })
        #expect(harness.notes(about: "web2").contains { $0.contains("moved by someone else") })
    }

    @Test func failbackNoneLeavesVMsAndSaysWhere() {
        var policy = Policy()
        policy.failback = .none
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        let steps = harness.run().map(\.kind)
        #expect(!steps.contains(.failbackVM))
        #expect(harness.notes(about: "web1").contains { $0.contains("failback: none") })
    }

    @Test func standaloneHostsAreHeldByDefault() {
        var inventory = Fixtures.cluster()
        inventory.hosts.append(Host(name: "S1", cluster: nil, memoryMB: 32768))
        inventory.vms.append(VM(name: "branch", memoryMB: 4096, highlyAvailable: false, host: "S1"))
        var harness = SagaHarness(Fixtures.saga(host: "S1", cluster: nil), inventory: inventory)
        harness.send(.start)
        let steps = harness.run().map(\.kind)
        #expect(harness.outcome == .held)
        #expect(harness.state.outcome?.reason?.contains("standalone") == true)
        #expect(!steps.contains(.enterMaintenance))
    }

    @Test func standaloneHostWithPatchPolicySavesItsVMsAndRestartsThem() {
        var policy = Policy()
        policy.standaloneHosts = .patch
        var inventory = Fixtures.cluster()
        inventory.hosts.append(Host(name: "S1", cluster: nil, memoryMB: 32768))
        inventory.vms.append(VM(name: "branch", memoryMB: 4096, highlyAvailable: false, host: "S1"))
        var harness = SagaHarness(Fixtures.saga(host: "S1", cluster: nil, policy: policy), inventory: inventory)
        harness.send(.start)
        let actions = harness.run().compactMap(\.vmActionRequest).map(\.action.kind)
        #expect(actions == [.saveState, .start])
        #expect(harness.outcome == .patched)
    }

    @Test func alreadyInMaintenanceHostIsSkippedAndLeftAsItWas() {
        var inventory = Fixtures.cluster()
        inventory.hosts[0].status = .maintenance
        inventory.vms = []
        var harness = SagaHarness(inventory: inventory)
        harness.send(.start)
        let steps = harness.run().map(\.kind)
        #expect(harness.outcome == .skipped)
        #expect(harness.state.preexistingMaintenance)
        #expect(!steps.contains(.exitMaintenance), "never end a maintenance we did not start")
        #expect(!steps.contains(.enterMaintenance))
    }

    @Test func pausedNodeIsAlsoLeftAsItWas() {
        var inventory = Fixtures.cluster()
        inventory.hosts[0].status = .paused
        var harness = SagaHarness(inventory: inventory)
        harness.send(.start)
        harness.run()
        #expect(harness.outcome == .skipped)
        #expect(harness.state.preexistingMaintenance)
    }

    /// The scheduler may have decided on an inventory seconds old; a peer
    /// that went down or into someone's maintenance since counts against
    /// maxUnavailablePerCluster at precheck: the host goes back to the
    /// waiting list untouched, and the timeline says why.
    @Test func aPeerOutOfServiceAtPrecheckSendsTheHostBackToWaitingUntouched() {
        var inventory = Fixtures.cluster()
        inventory.hosts[2].status = .down
        var harness = SagaHarness(inventory: inventory)
        harness.send(.start)
        let steps = harness.run().map(\.kind)
        #expect(steps == [.observeCluster], "nothing asked of the host after looking")
        #expect(harness.state.isPending && harness.state.startedAt == nil && harness.state.awaiting == nil)
        let last = harness.state.timeline?.last
        #expect(last?.phase == .pending && last?.detail?.contains("C1-H3 (down)") == true, "\(String(describing: last))")
        // With room for two out of service, the same facts let it go ahead.
        var policy = Policy()
        policy.maxUnavailablePerCluster = 2
        var roomy = SagaHarness.started(policy, inventory: inventory)
        roomy.run()
        #expect(roomy.outcome == .patched)
        // Back in the waiting list, the saga starts again like any pending one.
        harness.setStatus("C1-H3", .up)
        harness.send(.start)
        harness.run()
        #expect(harness.outcome == .patched)
    }

    @Test func insufficientCapacityHoldsHostUntouched() {
        var inventory = Fixtures.cluster(hosts: 2, memoryMB: 16384)
        inventory.vms.append(VM(name: "big", memoryMB: 8192, host: "C1-H2"))
        var harness = SagaHarness(inventory: inventory)
        harness.send(.start)
        let steps = harness.run().map(\.kind)
        #expect(harness.outcome == .held)
        #expect(harness.state.outcome?.reason?.contains("insufficient capacity") == true)
        #expect(!steps.contains(.enterMaintenance))
    }

    @Test func capacityHeadroomIsHonoured() {
        // C1-H2 has 16 GB, 10% headroom leaves 14745 MB: 12 GB of VMs fit, 15 GB do not.
        var inventory = Fixtures.cluster(hosts: 2, memoryMB: 16384)
        inventory.vms[1].memoryMB = 11 * 1024
        var harness = SagaHarness(inventory: inventory)
        harness.send(.start)
        harness.run()
        #expect(harness.outcome == .held)
        var relaxed = Policy()
        relaxed.capacityHeadroomPercent = 0
        var second = SagaHarness(Fixtures.saga(policy: relaxed), inventory: inventory)
        second.send(.start)
        second.run()
        #expect(second.outcome == .patched)
    }
}
