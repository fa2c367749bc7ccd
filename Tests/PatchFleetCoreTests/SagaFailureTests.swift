import Testing
@testable import PatchFleetCore

/// Failure paths: fallback chains, drain timeout and compensation, retries,
/// hold/resume on failure, reboots.
@Suite struct SagaFailureTests {
    static let migrationFailed = BackendError(.migrationFailed, "Live migration of 'web2' failed (0x8007274C)", backendCode: "0x8007274C")

    @Test func stuckVMFollowsFallbackChainToQuickMigration() {
        var policy = Policy()
        policy.migrationFallback = [.liveMigrate, .quickMigrate, .holdHost]
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        let bodies = harness.run { command, _ in
            guard let request = command.vmActionRequest, request.vm == "web2", request.action.kind == .liveMigrate else { return nil }
            return .vmActionFailed(VMActionFailed(vm: "web2", action: request.action, error: Self.migrationFailed))
        }
        let web2 = bodies.compactMap(\.vmActionRequest).filter { $0.vm == "web2" }.map(\.action.kind)
        #expect(web2 == [.liveMigrate, .quickMigrate])
        #expect(harness.outcome == .patched)
        #expect(harness.notes(about: "web2").contains { $0.contains("0x8007274C") }, "the backend's own message is kept")
    }

    @Test func fallbackChainEndingInHoldCompensatesTheDrain() {
        var harness = SagaHarness()  // default chain: liveMigrate, holdHost; web2 (largest) drains first
        harness.send(.start)
        let bodies = harness.run { command, _ in
            guard let request = command.vmActionRequest, request.vm == "web1", request.action.kind == .liveMigrate else { return nil }
            return .vmActionFailed(VMActionFailed(vm: "web1", action: request.action, error: Self.migrationFailed))
        }
        let kinds = bodies.map(\.kind)
        #expect(harness.outcome == .held)
        #expect(harness.state.outcome?.inMaintenance == false, "compensation exits the maintenance it started")
        #expect(kinds.contains(.exitMaintenance))
        #expect(!kinds.contains(.deployUpdates))
        #expect(!kinds.contains(.failbackVM), "moved VMs stay where they are safe")
        #expect(harness.notes(about: "web2").contains { $0.contains("left on") })
        #expect(harness.state.outcome?.reason?.contains("web1") == true)
    }

    @Test func perVMOverrideByNameBeatsTagAndDefault() {
        var policy = Policy()
        policy.migrationFallback = [.liveMigrate, .holdHost]
        policy.vmOverrides = [VMOverride(tag: "db", fallback: [.liveMigrate, .quickMigrate, .holdHost]),
                              VMOverride(name: "web2", fallback: [.liveMigrate, .saveState, .holdHost])]
        let tagged = VM(name: "sql1", memoryMB: 1024, host: "C1-H1", tags: ["db"])
        #expect(policy.fallbackChain(for: tagged) == [.liveMigrate, .quickMigrate, .holdHost])
        #expect(policy.fallbackChain(for: VM(name: "web2", memoryMB: 1, host: "x", tags: ["db"])) == [.liveMigrate, .saveState, .holdHost])
        #expect(policy.fallbackChain(for: VM(name: "web1", memoryMB: 1, host: "x")) == [.liveMigrate, .holdHost])

        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        let bodies = harness.run { command, _ in
            guard let request = command.vmActionRequest, request.vm == "web2", request.action.kind == .liveMigrate else { return nil }
            return .vmActionFailed(VMActionFailed(vm: "web2", action: request.action, error: Self.migrationFailed))
        }
        #expect(bodies.compactMap(\.vmActionRequest).filter { $0.vm == "web2" }.map(\.action.kind) == [.liveMigrate, .saveState, .start])
        #expect(harness.outcome == .patched)
    }

    @Test func drainTimeoutCompensatesAndHoldsHost() {
        var policy = Policy()
        policy.drainTimeoutSeconds = 600
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        let timeouts = harness.run().compactMap(\.vmActionRequest).filter { $0.action.kind == .liveMigrate }.map(\.timeoutSeconds)
        #expect(timeouts.allSatisfy { $0 <= 600 }, "one VM's attempt never outlives the drain deadline")
        // Replay with a slow first migration: its answer arrives after the deadline.
        var slow = SagaHarness(Fixtures.saga(policy: policy))
        slow.send(.start)
        slow.answer(.clusterObserved(slow.inventory.clusterSnapshot(of: "C1-H1")))
        slow.answer(.maintenanceEntered)
        let migration = slow.outstanding!.body.vmActionRequest!
        slow.answer(.vmActionSucceeded(VMActionSucceeded(vm: migration.vm, action: migration.action)), after: 700)
        #expect(slow.outstanding?.body.kind == .exitMaintenance)
        slow.run()
        #expect(slow.outcome == .held)
        #expect(slow.state.outcome?.reason?.contains("drain timeout") == true)
    }

    @Test func installFailureRetriesWithBackoffThenHoldsInMaintenance() {
        var policy = Policy()
        policy.maxRetriesPerHost = 2
        policy.retryBackoffSeconds = 60
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        var waits: [Double] = []
        let bodies = harness.run { command, harness in
            if case .wakeAt(let wake) = command, wake.purpose == "retry" { waits.append(wake.at.seconds(since: harness.now)) }
            guard case .pollCompliance(let request) = command else { return nil }
            return .complianceReported(ComplianceReport(installed: [], pending: [], pendingReboot: false,
                failed: [UpdateFailure(updateId: request.updateIds[0], code: "0x80070643", message: "Fatal error during installation")]))
        }
        #expect(bodies.filter { $0.kind == .deployUpdates }.count == 3, "first try plus two retries")
        #expect(waits == [60, 120], "exponential backoff")
        #expect(harness.outcome == .held)
        #expect(harness.state.outcome?.inMaintenance == true)
        #expect(harness.state.outcome?.reason?.contains("0x80070643") == true)
        #expect(harness.state.outcome?.countsAsFailure == true)
        #expect(!bodies.map(\.kind).contains(.exitMaintenance))
    }

    @Test func installFailureResumesHostWhenPolicySaysResume() {
        var policy = Policy()
        policy.maxRetriesPerHost = 0
        policy.onFailure = .resume
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        let kinds = harness.run { command, _ in
            guard case .pollCompliance = command else { return nil }
            return .complianceReported(ComplianceReport(installed: [], pending: [], pendingReboot: false,
                failed: [UpdateFailure(updateId: "KB1", code: "0x80240022", message: "failed")]))
        }.map(\.kind)
        #expect(harness.outcome == .failed)
        #expect(harness.state.outcome?.inMaintenance == false)
        #expect(kinds.contains(.exitMaintenance))
        #expect(kinds.contains(.failbackVM), "VMs go home even when the patch failed")
    }

    @Test func pendingRebootRebootsWaitsForHostAndRescans() {
        var harness = SagaHarness()
        harness.send(.start)
        var scans = 0
        let kinds = harness.run { command, _ in
            guard case .pollCompliance(let request) = command else { return nil }
            scans += 1
            return .complianceReported(ComplianceReport(installed: request.updateIds, pending: [], failed: [], pendingReboot: scans == 1))
        }.map(\.kind)
        let reboot = kinds.firstIndex(of: .rebootHost)!
        #expect(kinds[reboot + 1] == .waitForHost)
        #expect(kinds[reboot + 2] == .pollCompliance, "rescan after the host answers")
        #expect(harness.state.reboots == 1)
        #expect(harness.outcome == .patched)
    }

    /// The reboot wait is looks on a timer, not a task held for the reboot:
    /// each "not back" schedules the next look after the poll interval.
    @Test func aHostNotBackYetIsLookedAtAgainOnATimer() {
        var harness = SagaHarness()
        harness.send(.start)
        var looks = 0, scans = 0
        var lookTimes: [Instant] = []
        let kinds = harness.run { command, harness in
            switch command {
            case .pollCompliance(let request):
                scans += 1
                return .complianceReported(ComplianceReport(installed: request.updateIds, pending: [], failed: [], pendingReboot: scans == 1))
            case .waitForHost:
                looks += 1
                lookTimes.append(harness.now)
                return looks < 4 ? .hostNotBack(HostNotBack(detail: "host 'C1-H1' is rebooting")) : .hostAnswered
            default:
                return nil
            }
        }.map(\.kind)
        let reboot = kinds.firstIndex(of: .rebootHost)!
        #expect(Array(kinds[(reboot + 1)...].prefix(8))
                == [.waitForHost, .wakeAt, .waitForHost, .wakeAt, .waitForHost, .wakeAt, .waitForHost, .pollCompliance])
        let policy = harness.state.policy
        #expect(zip(lookTimes, lookTimes.dropFirst()).allSatisfy { $1.seconds(since: $0) >= policy.pollIntervalSeconds })
        #expect(harness.state.reboots == 1 && harness.state.retries == 0)
        #expect(harness.outcome == .patched)
    }

    /// A restart request returns before the host goes down, and until it
    /// does the host answers with its restart still pending: that is not the
    /// host back. Once it was seen down, "pending again" means it restarted
    /// and wants another: counted, rescanned, restarted again.
    @Test func aHostAnsweringBeforeItWentDownIsNotBackAndOneRestartCountsOnce() {
        var harness = SagaHarness()
        harness.send(.start)
        var looks = 0, scans = 0
        let answers: [EventBody] = [
            .hostNotBack(HostNotBack(detail: "host 'C1-H1' answers and still reports a restart pending", reading: .restartPending)),
            .hostNotBack(HostNotBack(detail: "host 'C1-H1' answers and still reports a restart pending", reading: .restartPending)),
            .hostNotBack(HostNotBack(detail: "host 'C1-H1' is rebooting")),
            // Back, wanting a second restart (an update finishing in two).
            .hostNotBack(HostNotBack(detail: "host 'C1-H1' answers and still reports a restart pending", reading: .restartPending)),
        ]
        let kinds = harness.run { command, _ in
            switch command {
            case .pollCompliance(let request):
                scans += 1
                return .complianceReported(ComplianceReport(installed: request.updateIds, pending: [], failed: [], pendingReboot: scans <= 2))
            case .waitForHost:
                looks += 1
                return looks <= answers.count ? answers[looks - 1] : .hostAnswered
            default:
                return nil
            }
        }.map(\.kind)
        let firstReboot = kinds.firstIndex(of: .rebootHost)!
        #expect(Array(kinds[(firstReboot + 1)...].prefix(8))
                == [.waitForHost, .wakeAt, .waitForHost, .wakeAt, .waitForHost, .wakeAt, .waitForHost, .pollCompliance],
                "two looks before it went down, one while down, then back (pending again): \(kinds)")
        #expect(kinds.filter { $0 == .rebootHost }.count == 2, "the second restart the host asked for")
        #expect(harness.state.reboots == 2 && harness.state.retries == 0, "each restart counted once: \(harness.state.reboots)")
        #expect(harness.outcome == .patched)
    }

    /// A restart that never begins (the host keeps answering, its restart
    /// pending; a silent update client is no proof it went down): at the
    /// deadline the restart is asked for again, not the wait; past the
    /// retries the host is held with the reason.
    @Test func aRestartThatNeverBeganIsAskedForAgainThenHeld() {
        var policy = Policy()
        policy.maxRetriesPerHost = 1
        var harness = SagaHarness.started(policy)
        var looks = 0
        let kinds = harness.run { command, _ in
            switch command {
            case .pollCompliance(let request):
                return .complianceReported(ComplianceReport(installed: request.updateIds, pending: [], failed: [], pendingReboot: true))
            case .waitForHost(let request):
                #expect(request.wantsReading == true)
                looks += 1
                return looks == 1
                    ? .hostNotBack(HostNotBack(detail: "host 'C1-H1' is up, but its update client does not answer yet", reading: .updateClientSilent))
                    : .hostNotBack(HostNotBack(detail: "host 'C1-H1' answers and still reports a restart pending", reading: .restartPending))
            default:
                return nil
            }
        }.map(\.kind)
        #expect(kinds.filter { $0 == .rebootHost }.count == 2, "asked, then asked again: \(kinds)")
        #expect(harness.state.reboots == 0, "no restart counted")
        #expect(harness.outcome == .held)
        #expect(harness.state.outcome?.reason?.contains("never began") == true, "\(String(describing: harness.state.outcome?.reason))")
    }

    /// Past the reboot deadline a "not back" is a failed wait (the policy's
    /// reboot timeout, with what the host was doing); the retry waits a whole
    /// timeout again.
    @Test func aHostNotBackByTheRebootDeadlineFailsTheWaitAndTheRetryGetsAFreshDeadline() {
        var policy = Policy()
        policy.maxRetriesPerHost = 1
        policy.rebootTimeoutSeconds = 600
        policy.onFailure = .hold
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        var firstLook: Instant?
        var lastLook: Instant?
        harness.run { command, harness in
            switch command {
            case .pollCompliance(let request):
                return .complianceReported(ComplianceReport(installed: request.updateIds, pending: [], failed: [], pendingReboot: true))
            case .waitForHost:
                firstLook = firstLook ?? harness.now
                lastLook = harness.now
                return .hostNotBack(HostNotBack(detail: "host 'C1-H1' is down"))
            default:
                return nil
            }
        }
        #expect(harness.outcome == .held)
        #expect(harness.state.retries == 1)
        let reason = harness.state.outcome?.reason ?? ""
        #expect(reason.contains("did not respond within 600 seconds after restart") && reason.contains("host 'C1-H1' is down"), "\(reason)")
        // Two whole timeouts of looking (the first wait and its retry), plus the backoff between them.
        let looked = lastLook!.seconds(since: firstLook!)
        #expect(looked >= 1_200 && looked < 1_200 + policy.retryBackoffSeconds + policy.pollIntervalSeconds * 2, "\(looked)")
    }

    @Test func rebootIsNeverRequestedBeforeTheDrainIsConfirmedEmpty() {
        var harness = SagaHarness()
        harness.send(.start)
        var observations = 0
        let kinds = harness.run { command, harness in
            guard case .observeCluster(let ref) = command else { return nil }
            observations += 1
            var snapshot = harness.inventory.clusterSnapshot(of: ref.host)
            // Another drain sent a VM here after the precheck.
            if observations == 2 { snapshot.vms.append(VM(name: "newcomer", memoryMB: 1024, host: "C1-H1")) }
            return .clusterObserved(snapshot)
        }.map(\.kind)
        #expect(observations == 3, "precheck, verification that found the newcomer, verification that found it gone")
        #expect(harness.state.drainPasses == 1)
        #expect(kinds.firstIndex(of: .deployUpdates)! > kinds.lastIndex(of: .observeCluster)!)
    }

    @Test func pollIsScopedToDeployedUpdates() {
        var harness = SagaHarness()
        harness.send(.start)
        var scoped: [[String]] = []
        harness.run { command, _ in
            guard case .pollCompliance(let request) = command else { return nil }
            scoped.append(request.updateIds)
            // The host reports other, unrelated updates as pending: they must not matter.
            return .complianceReported(ComplianceReport(installed: ["KB1", "KB2"], pending: ["KB999"], failed: [], pendingReboot: false))
        }
        #expect(scoped == [["KB1", "KB2"]])
        #expect(harness.outcome == .patched)
    }

    @Test func installStillPendingPastTimeoutIsAFailure() {
        var policy = Policy()
        policy.installTimeoutSeconds = 300
        policy.pollIntervalSeconds = 120
        policy.maxRetriesPerHost = 0
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        harness.run { command, _ in
            guard case .pollCompliance = command else { return nil }
            return .complianceReported(ComplianceReport(installed: ["KB1"], pending: ["KB2"], failed: [], pendingReboot: false))
        }
        #expect(harness.outcome == .held)
        #expect(harness.state.outcome?.reason?.contains("install timeout") == true)
    }

    @Test func hostStuckInPendingRebootFailsAfterMaxReboots() {
        var policy = Policy()
        policy.maxRebootsPerHost = 2
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        let kinds = harness.run { command, _ in
            guard case .pollCompliance(let request) = command else { return nil }
            return .complianceReported(ComplianceReport(installed: request.updateIds, pending: [], failed: [], pendingReboot: true))
        }.map(\.kind)
        #expect(kinds.filter { $0 == .rebootHost }.count == 2)
        #expect(harness.outcome == .held)
        #expect(harness.state.outcome?.reason?.contains("pending reboot") == true)
    }

    @Test func maintenanceRequestWithoutAnswerIsTakenBackNotLeftBehind() {
        var policy = Policy()
        policy.maxRetriesPerHost = 0
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        let kinds = harness.run { command, _ in
            guard case .enterMaintenance = command else { return nil }
            return .commandFailed(CommandFailure(step: .enterMaintenance, error: BackendError(.timeout, "No answer within 120 seconds")))
        }.map(\.kind)
        #expect(kinds.contains(.exitMaintenance), "the request may have landed: take it back")
        #expect(!kinds.contains(.vmAction))
        #expect(harness.outcome == .held)
        #expect(harness.state.outcome?.inMaintenance == false)
        #expect(harness.state.outcome?.reason?.contains("No answer") == true)
    }

    @Test func maintenanceIsAskedForAgainOnceTheDrainIsVerifiedAndOnlyThenDeployed() {
        var harness = SagaHarness(Fixtures.saga())
        harness.send(.start)
        let commands = harness.run()
        let requests = commands.compactMap { command -> MaintenanceRequest? in
            if case .enterMaintenance(let request) = command { return request }
            return nil
        }
        #expect(requests.map(\.drained) == [false, true], "cordon before the drain, maintenance mode once empty")
        let kinds = commands.map(\.kind)
        let sealed = commands.firstIndex { if case .enterMaintenance(let r) = $0 { return r.drained } else { return false } }
        let deploy = kinds.firstIndex(of: .deployUpdates)
        let movesOut = commands.indices.filter { index in
            guard let action = commands[index].vmActionRequest?.action.kind else { return false }
            return action != .start
        }
        #expect(!movesOut.isEmpty, "the fixture host has VMs to drain")
        if let sealed, let deploy {
            #expect(sealed < deploy)
            #expect(movesOut.allSatisfy { $0 < sealed }, "maintenance mode only on the emptied host")
        } else {
            Issue.record("no maintenance mode (\(String(describing: sealed))) or no deploy (\(String(describing: deploy)))")
        }
        #expect(harness.outcome == .patched)
    }

    @Test func aVMArrivingBeforeMaintenanceModeIsDrainedTooNotRebootedWith() {
        var harness = SagaHarness(Fixtures.saga())
        harness.send(.start)
        var refusedOnce = false
        let commands = harness.run { command, harness in
            guard case .enterMaintenance(let request) = command, request.drained, !refusedOnce else { return nil }
            refusedOnce = true
            return .commandFailed(CommandFailure(step: .enterMaintenance, error: BackendError(
                .invalidState, "host '\(request.host)' is not empty any more: late-vm running on it")))
        }
        let kinds = commands.map(\.kind)
        guard let refused = commands.firstIndex(where: { if case .enterMaintenance(let r) = $0 { return r.drained } else { return false } }) else {
            Issue.record("no maintenance request for the drained host")
            return
        }
        // The saga waits out its backoff, then looks at the host again rather
        // than insisting on maintenance or going on to deploy.
        let after = Array(kinds[(refused + 1)...])
        #expect(after.first == .wakeAt)
        #expect(after.dropFirst().first == .observeCluster)
        #expect(kinds.filter { $0 == .enterMaintenance }.count == 3)
        #expect(harness.outcome == .patched)
    }

    /// A VM saved for the patch that somebody starts again during the drain
    /// is running on the host: it is drained again, never taken as handled.
    @Test func aSavedVMStartedAgainDuringTheDrainIsDrainedAgain() {
        var policy = Policy()
        policy.nonHighlyAvailableVMs = .saveState
        let inventory = Fixtures.cluster(extraVMs: [VM(name: "app1", memoryMB: 2048, highlyAvailable: false, host: "C1-H1")])
        var harness = SagaHarness.started(policy, inventory: inventory)
        var restartedOnce = false
        let commands = harness.run { command, harness in
            guard case .observeCluster(let ref) = command, harness.state.phase == .draining, !restartedOnce,
                  harness.state.turnedOff.contains(where: { $0.vm == "app1" }) else { return nil }
            restartedOnce = true
            var snapshot = harness.inventory.clusterSnapshot(of: ref.host)
            if let index = snapshot.vms.firstIndex(where: { $0.name == "app1" }) { snapshot.vms[index].power = .running }
            return .clusterObserved(snapshot)
        }
        let saves = commands.compactMap(\.vmActionRequest).filter { $0.vm == "app1" && $0.action.kind == .saveState }
        #expect(restartedOnce && saves.count == 2, "saved, started by someone, saved again: \(saves.count)")
        #expect(harness.outcome == .patched)
    }

    /// A drain step that fails past its retries compensates, whatever
    /// onFailure says: the host goes back into service and the VMs saved for
    /// the patch run again, rather than stay off on a held host.
    @Test func aDrainThatCannotFinishIsCompensatedNotHeld() {
        var policy = Policy()
        policy.nonHighlyAvailableVMs = .saveState
        policy.onFailure = .hold
        policy.maxRetriesPerHost = 1
        let inventory = Fixtures.cluster(extraVMs: [VM(name: "app1", memoryMB: 2048, highlyAvailable: false, host: "C1-H1")])
        var harness = SagaHarness.started(policy, inventory: inventory)
        let commands = harness.run { command, _ in
            guard case .enterMaintenance(let request) = command, request.drained else { return nil }
            return .commandFailed(CommandFailure(step: .enterMaintenance, error: BackendError(.invalidState, "Host 'C1-H1' refused maintenance mode")))
        }
        let kinds = commands.map(\.kind)
        #expect(harness.outcome == .held && harness.state.outcome?.inMaintenance == false, "\(String(describing: harness.state.outcome))")
        #expect(kinds.contains(.exitMaintenance) && !kinds.contains(.deployUpdates))
        #expect(commands.compactMap(\.vmActionRequest).contains { $0.vm == "app1" && $0.action.kind == .start }, "app1 runs again")
        #expect(!kinds.contains(.failbackVM), "compensation leaves moved VMs where they are safe")

        // onFailure: resume resumes as ever: VMs started and brought home, the host failed.
        policy.onFailure = .resume
        var resuming = SagaHarness.started(policy, inventory: inventory)
        let resumed = resuming.run { command, _ in
            guard case .enterMaintenance(let request) = command, request.drained else { return nil }
            return .commandFailed(CommandFailure(step: .enterMaintenance, error: BackendError(.invalidState, "Host 'C1-H1' refused maintenance mode")))
        }.map(\.kind)
        #expect(resuming.outcome == .failed && resumed.contains(.failbackVM), "\(String(describing: resuming.state.outcome))")
    }

    /// Giving up on the way back (the host will not leave maintenance): each
    /// VM moved off and not brought home is said where it was left.
    @Test func givingUpOnTheWayBackSaysWhereEachMovedVMWasLeft() {
        var policy = Policy()
        policy.maxRetriesPerHost = 1
        var harness = SagaHarness.started(policy)
        harness.run { command, _ in
            guard case .exitMaintenance = command else { return nil }
            return .commandFailed(CommandFailure(step: .exitMaintenance, error: BackendError(.unreachable, "Host 'C1-H1' is not responding")))
        }
        #expect(harness.outcome == .held)
        for vm in ["web1", "web2"] {
            #expect(harness.notes(about: vm).contains { $0.hasPrefix("left on C1-H") && $0.contains("not moved back") }, "\(vm): \(harness.notes(about: vm))")
        }
    }

    @Test func anUnansweredTaskTimesOutOnTheSagasOwnClock() {
        var policy = Policy()
        policy.maxRetriesPerHost = 1
        policy.taskTimeoutSeconds = 600
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        let commands = harness.send(.start)
        let issued = harness.now
        #expect(commands.map(\.body.kind) == [.observeCluster])
        #expect(HostSaga.overdue(harness.state, at: issued.adding(seconds: 599)) == nil, "not before the deadline")
        guard let first = HostSaga.overdue(harness.state, at: issued.adding(seconds: 600)) else {
            Issue.record("no timeout at the deadline")
            return
        }
        #expect(first.sagaVersion == harness.state.version)
        guard case .commandFailed(let failure) = first.body else {
            Issue.record("expected a failure, got \(first.body)")
            return
        }
        #expect(failure.step == .observeCluster && failure.error.code == .timeout)
        #expect(failure.error.message.contains("saga-level timeout"))

        // Applied, it is a failed attempt: retry after the backoff, and the
        // retried task's own timeout gives up for good, untouched.
        var (state, next) = HostSaga.reduce(harness.state, first)
        #expect(next.map(\.body.kind) == [.wakeAt])
        guard case .wakeAt(let wake) = next.first?.body else { return }
        (state, next) = HostSaga.reduce(state, .answer(to: next[0], at: wake.at, .timerFired))
        #expect(next.map(\.body.kind) == [.observeCluster])
        let late = SagaEvent.answer(to: commands[0], at: wake.at, .clusterObserved(ClusterSnapshot(hosts: [], vms: [])))
        #expect(!HostSaga.wouldApply(state, late), "the abandoned attempt's late answer is stale")
        guard let second = HostSaga.overdue(state, at: wake.at.adding(seconds: 600)) else {
            Issue.record("the retry has no deadline")
            return
        }
        (state, next) = HostSaga.reduce(state, second)
        #expect(next.isEmpty)
        #expect(state.outcome?.kind == .failed)
        #expect(state.outcome?.reason?.contains("no answer to observeCluster") == true)
        #expect(HostSaga.overdue(state, at: wake.at.adding(seconds: 100_000)) == nil, "a finished saga never times out")

        // A floor under the deadline (time-scaled runs): not before it.
        #expect(HostSaga.overdue(harness.state, at: issued.adding(seconds: 600), minimumWaitSeconds: 6_000) == nil)
        #expect(HostSaga.overdue(harness.state, at: issued.adding(seconds: 6_000), minimumWaitSeconds: 6_000) != nil)
    }

    @Test func theCoordinatorsOwnTimersAndLongStepsGetTheirDeadlines() {
        var policy = Policy()
        policy.taskTimeoutSeconds = 300
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        var checked: Set<CommandKind> = []
        harness.run { command, harness in
            let state = harness.state
            switch command {
            case .wakeAt:
                #expect(state.awaitingDeadline == nil, "timers are the coordinator's own")
            case .vmAction(let request):
                #expect(state.awaitingDeadline == state.awaitingSince?.adding(seconds: request.timeoutSeconds + 300))
            case .waitForHost:
                #expect(state.awaitingDeadline == state.awaitingSince?.adding(seconds: 300), "one look: no step time of its own")
            case .failbackVM(let request):
                #expect(state.awaitingDeadline == state.awaitingSince?.adding(seconds: request.timeoutSeconds + 300))
            default:
                #expect(state.awaitingDeadline == state.awaitingSince?.adding(seconds: 300))
            }
            checked.insert(command.kind)
            if case .pollCompliance(let request) = command, harness.state.reboots == 0 {
                return .complianceReported(ComplianceReport(installed: request.updateIds, pending: [], failed: [], pendingReboot: true))
            }
            return nil
        }
        #expect(checked.isSuperset(of: [.wakeAt, .vmAction, .waitForHost, .deployUpdates, .failbackVM]), "\(checked)")
    }

    @Test func hostThatDoesNotComeBackIsHeldInMaintenanceWithTheReason() {
        var policy = Policy()
        policy.maxRetriesPerHost = 1
        policy.onFailure = .resume
        var harness = SagaHarness(Fixtures.saga(policy: policy))
        harness.send(.start)
        var polls = 0
        harness.run { command, _ in
            switch command {
            case .pollCompliance(let request):
                polls += 1
                return .complianceReported(ComplianceReport(installed: request.updateIds, pending: [], failed: [], pendingReboot: true))
            case .waitForHost:
                return .commandFailed(CommandFailure(step: .waitForHost, error: BackendError(.timeout, "Host 'C1-H1' did not respond within 1800 seconds")))
            case .exitMaintenance:
                return .commandFailed(CommandFailure(step: .exitMaintenance, error: BackendError(.unreachable, "Host 'C1-H1' is not responding")))
            default:
                return nil
            }
        }
        #expect(harness.outcome == .held)
        #expect(harness.state.outcome?.inMaintenance == true)
        #expect(harness.state.outcome?.reason?.contains("not responding") == true)
    }
}

extension ComplianceReport {
    init(installed: [String], pending: [String], pendingReboot: Bool, failed: [UpdateFailure]) {
        self.init(installed: installed, pending: pending, failed: failed, pendingReboot: pendingReboot)
    }
}
