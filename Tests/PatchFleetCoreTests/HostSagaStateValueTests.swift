import Foundation
import Testing
@testable import PatchFleetCore

/// `HostSagaState` keeps its fields in a shared copy-on-write box (copies
/// are cheap for the engine's cache and the scheduler). These tests hold it
/// to what a plain struct gave: copies never alias, equality and hashing
/// look at the fields, and the stored JSON is the same.
@Suite struct HostSagaStateValueTests {
    /// A saga in the middle of its drain: a placement, a VM moved, a
    /// timeline, a deadline; its outstanding command is the next migration.
    static func draining() -> SagaHarness {
        var harness = SagaHarness()
        harness.send(.start)
        for _ in 0..<3 { harness.answer(harness.happyAnswer(harness.outstanding!.body)) }
        return harness
    }

    static let failure = EventBody.commandFailed(CommandFailure(step: .vmAction, error: BackendError(.timeout, "the manager went away")))

    @Test func aMutatedCopyLeavesTheOriginalAlone() throws {
        let harness = Self.draining()
        let original = harness.state
        let before = try WireCoding.encode(original)
        var copy = original
        #expect(copy == original && copy.hashValue == original.hashValue)

        // Through the reducer (in-place `_modify` on a shared box) ...
        var advanced = harness
        advanced.answer(Self.failure)
        #expect(advanced.state.version > original.version)
        #expect((advanced.state.timeline?.count ?? 0) > (original.timeline?.count ?? 0))
        // ... and field by field, through a nested collection.
        copy.timeline?.removeAll()
        copy.notes.append(SagaNote(message: "only on the copy"))

        #expect(try WireCoding.encode(original) == before, "the original's fields did not move")
        #expect(original.timeline?.isEmpty == false && original.notes.isEmpty)
        #expect(copy != original)
        #expect(copy.timeline?.isEmpty == true && copy.notes.count == 1)
    }

    @Test func equalFieldsAreEqualStatesWhateverTheirBoxes() throws {
        let state = Self.draining().state
        // A decoded state has a box of its own: equal by its fields, same hash.
        let decoded = try WireCoding.decode(HostSagaState.self, from: WireCoding.encode(state))
        #expect(decoded == state && decoded.hashValue == state.hashValue)
        var changed = decoded
        changed.drainPasses += 1
        #expect(changed != state)
        changed.drainPasses -= 1
        #expect(changed == state && changed.hashValue == state.hashValue)
    }

    /// The stored form, key for key: the saga store keeps these documents,
    /// and a key renamed or lost here would strand every stored saga.
    @Test func theStoredKeysAreTheFieldsOfThePlainStruct() throws {
        var harness = Self.draining()
        harness.answer(Self.failure)
        let object = try #require(try JSONSerialization.jsonObject(with: WireCoding.encode(harness.state)) as? [String: Any])
        let always: Set<String> = [
            "sagaId", "jobId", "host", "cluster", "policy", "updateIds", "deploymentCollection", "version", "phase",
            "paused", "cancelRequested", "preexistingMaintenance", "maintenanceRequested", "enteredMaintenance",
            "inMaintenance", "placement", "drainItems", "keptOnHost", "drainPasses", "drainVerified", "moved",
            "turnedOff", "restartQueue", "failbackQueue", "reboots", "retries", "resumeMode", "notes", "timeline",
            "returnedHome",
        ]
        // Optionals appear when set, as they did.
        let optional: Set<String> = [
            "awaiting", "awaitingDeadline", "awaitingSince", "withheld", "startedAt", "finishedAt", "returnedAt",
            "drainDeadline", "installDeadline", "rebootDeadline", "retryCommand", "retryPhase", "resumeReason",
            "lastError", "outcome", "installedUpdates", "waitingReturns", "downSinceReboot",
        ]
        let keys = Set(object.keys)
        #expect(always.isSubset(of: keys), "missing: \(always.subtracting(keys).sorted())")
        #expect(keys.isSubset(of: always.union(optional)), "unexpected: \(keys.subtracting(always.union(optional)).sorted())")
        #expect(keys.contains("startedAt") && keys.contains("lastError") && keys.contains("awaiting"))
        #expect(!keys.contains("outcome"), "nil optionals are left out, not written as null")
    }
}
