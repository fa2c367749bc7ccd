import Foundation
import Testing
@testable import PatchFleetCore

/// Versioning, idempotency keys, stale events, cancel and pause, wire format.
@Suite struct SagaProtocolTests {
    @Test func commandsCarryIdempotencyKeyOfSagaStepAndGeneration() {
        var harness = SagaHarness()
        let commands = harness.send(.start)
        #expect(commands.count == 1)
        #expect(commands[0].idempotencyKey == "job1:C1-H1:observeCluster:1")
        #expect(commands[0].sagaVersion == 1)
        harness.run()
        let keys = harness.issued.map(\.idempotencyKey)
        #expect(Set(keys).count == keys.count, "every command has its own key")
    }

    @Test func staleEventChangesNothing() {
        var harness = SagaHarness()
        harness.send(.start)
        let observe = harness.outstanding!
        harness.answer(.clusterObserved(harness.inventory.clusterSnapshot(of: "C1-H1")))
        let before = harness.state
        // An old answer (wrong saga version) arrives late.
        let (after, commands) = HostSaga.reduce(before, .answer(to: observe, at: harness.now, .maintenanceEntered))
        #expect(after == before)
        #expect(commands.isEmpty)
    }

    @Test func duplicateAnswerChangesNothing() {
        var harness = SagaHarness()
        harness.send(.start)
        let observe = harness.outstanding!
        let answer = SagaEvent.answer(to: observe, at: harness.now, .clusterObserved(harness.inventory.clusterSnapshot(of: "C1-H1")))
        harness.deliver(answer)
        let afterFirst = harness.state
        let (afterDuplicate, commands) = HostSaga.reduce(afterFirst, answer)
        #expect(afterDuplicate == afterFirst)
        #expect(commands.isEmpty)
    }

    @Test func answerOfTheWrongKindChangesNothing() {
        var harness = SagaHarness()
        harness.send(.start)
        let observe = harness.outstanding!
        let (after, commands) = HostSaga.reduce(harness.state, .answer(to: observe, at: harness.now, .rebootIssued))
        #expect(after == harness.state)
        #expect(commands.isEmpty)
    }

    @Test func eventsAfterTheEndChangeNothing() {
        var harness = SagaHarness()
        harness.send(.start)
        harness.run()
        let done = harness.state
        #expect(done.isDone)
        #expect(!HostSaga.wouldApply(done, .control(done.sagaId, at: harness.now, .start)))
        #expect(!HostSaga.wouldApply(done, .control(done.sagaId, at: harness.now, .cancel)))
    }

    @Test func cancelBeforeStartCancelsTheHost() {
        var harness = SagaHarness()
        harness.send(.cancel)
        #expect(harness.outcome == .cancelled)
        #expect(harness.issued.isEmpty)
    }

    @Test func cancelDuringDrainCompensates() {
        var harness = SagaHarness()
        harness.send(.start)
        harness.answer(.clusterObserved(harness.inventory.clusterSnapshot(of: "C1-H1")))
        harness.answer(.maintenanceEntered)
        harness.send(.cancel)  // a migration is in flight: takes effect at its answer
        #expect(harness.outstanding?.body.kind == .vmAction)
        let kinds = harness.run().map(\.kind)
        #expect(kinds.dropFirst().first == .exitMaintenance, "the in-flight migration is answered, then compensation")
        #expect(!kinds.contains(.deployUpdates))
        #expect(harness.outcome == .cancelled)
        #expect(harness.state.outcome?.inMaintenance == false)
    }

    @Test func cancelAfterDrainFinishesTheHostSafely() {
        var midway = SagaHarness()
        midway.send(.start)
        while midway.outstanding?.body.kind != .deployUpdates { midway.answer(midway.happyAnswer(midway.outstanding!.body)) }
        midway.send(.cancel)
        midway.run()
        #expect(midway.outcome == .patched)
        #expect(midway.state.outcome?.reason?.contains("cancel requested") == true)
    }

    @Test func pauseWithholdsTheNextCommandUntilResume() {
        var harness = SagaHarness()
        harness.send(.start)
        harness.send(.pause)
        let next = harness.answer(.clusterObserved(harness.inventory.clusterSnapshot(of: "C1-H1")))
        #expect(next.isEmpty, "paused: the next step waits")
        #expect(harness.state.withheld?.kind == .enterMaintenance)
        let resumed = harness.send(.resume)
        #expect(resumed.map(\.body.kind) == [.enterMaintenance])
        harness.run()
        #expect(harness.outcome == .patched)
    }

    @Test func commandsAndEventsHaveStableKindDiscriminatedJSON() throws {
        var harness = SagaHarness()
        harness.send(.start)
        harness.run()
        for command in harness.issued {
            let data = try WireCoding.encode(command)
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let body = object?["body"] as? [String: Any]
            #expect(body?["kind"] as? String == command.body.kind.rawValue)
            #expect(try WireCoding.decode(SagaCommand.self, from: data) == command)
            #expect(try WireCoding.encode(try WireCoding.decode(SagaCommand.self, from: data)) == data, "byte-stable")
        }
        let event = SagaEvent(sagaId: "job1:C1-H1", sagaVersion: 3, now: Fixtures.t0,
                              body: .commandFailed(CommandFailure(step: .rebootHost, error: BackendError(.invalidState, "busy", backendCode: "0x1"))))
        let text = String(decoding: try WireCoding.encode(event), as: UTF8.self)
        #expect(text.contains(#""kind":"commandFailed""#))
        #expect(try WireCoding.decode(SagaEvent.self, from: Data(text.utf8)) == event)
        let state = harness.state
        #expect(try WireCoding.decode(HostSagaState.self, from: WireCoding.encode(state)) == state)
    }

    @Test func everyEventKindRoundTrips() throws {
        let bodies: [EventBody] = [
            .start, .skip(ReasonPayload(reason: "r")), .cancel, .pause, .resume,
            .clusterObserved(Fixtures.cluster().clusterSnapshot(of: "C1-H1")), .maintenanceEntered,
            .vmActionSucceeded(VMActionSucceeded(vm: "a", action: VMAction(.liveMigrate, to: "b"), observed: "x")),
            .vmActionFailed(VMActionFailed(vm: "a", action: VMAction(.saveState), error: BackendError(.timeout, "t"))),
            .updatesDeployed, .complianceReported(ComplianceReport(installed: ["1"], pending: [], failed: [], pendingReboot: true)),
            .rebootIssued, .hostAnswered, .hostNotBack(HostNotBack(detail: "host 'h' is rebooting")), .maintenanceExited, .healthReported(HealthReport(healthy: false, detail: "d")),
            .failbackFinished(FailbackOutcome(vm: "a", result: .noCapacity, detail: "d")), .timerFired,
            .commandFailed(CommandFailure(step: .deployUpdates, error: BackendError(.installFailed, "m"))),
        ]
        #expect(Set(bodies.map(\.kind)) == Set(EventKind.allCases))
        for body in bodies {
            #expect(try WireCoding.decode(EventBody.self, from: WireCoding.encode(body)) == body)
        }
    }
}
