import Foundation
import PatchFleetCore
import PatchFleetStore
import Testing

/// A saga's timeline through the store: the SQLite store keeps it in rows of
/// its own and writes only the entries a step added, so reads must put it
/// back whole, and a transition may only add to it.
@Suite("SagaStore contract: timelines")
struct ContractTimelineTests {
    /// Applies `states` one after another to saga j1:h1 of a fresh store.
    static func applied(_ kind: StoreKind, _ states: [HostSagaState]) async throws -> any SagaStore {
        let store = try await ContractApplyTests.seeded(kind)
        for (version, state) in states.enumerated() {
            #expect(try await store.apply(sagaId: "j1:h1", expectedVersion: version, newState: state, outbox: [],
                                          at: Fixture.at(Double(version + 1))) == .applied(newVersion: version + 1))
        }
        return store
    }

    /// Each step adds an entry: started, paused, resumed, paused, cancelled.
    static func steps() -> [HostSagaState] {
        var state = Fixture.started(Fixture.saga("j1", "h1"))
        var states = [state]
        for second in 2...4 {
            state = Fixture.event(state, state.paused ? .resume : .pause, at: Double(second))
            states.append(state)
        }
        states.append(Fixture.event(state, .cancel, at: 5))
        return states
    }

    @Test("every read gives the timeline back whole, entry for entry", arguments: StoreKind.allCases)
    func readsGiveItBackWhole(kind: StoreKind) async throws {
        let states = Self.steps()
        let counts = states.map { $0.timeline?.count ?? -1 }
        #expect(counts == counts.sorted() && Set(counts).count == counts.count, "each step added entries: \(counts)")
        let store = try await Self.applied(kind, states)
        let last = try #require(states.last)
        #expect(try await store.saga(id: "j1:h1")?.state == last)
        #expect(try await store.sagas(jobId: "j1").first { $0.id == "j1:h1" }?.state == last)
        #expect(try await store.sagas(jobId: "j1", reusing: [:]).first { $0.id == "j1:h1" }?.state == last)
        #expect(try await store.sagasOfUnfinishedJobs().first { $0.id == "j1:h1" }?.state == last)
        // The untouched saga keeps its empty (recorded) timeline.
        #expect(try await store.saga(id: "j1:h2")?.state.timeline == [])
    }

    @Test("a transition that drops timeline entries is refused and writes nothing", arguments: StoreKind.allCases)
    func aShorterTimelineIsRefused(kind: StoreKind) async throws {
        let states = Self.steps()
        let store = try await Self.applied(kind, Array(states.prefix(3)))
        let shorter = states[0]  // one entry, where three are stored
        await #expect(throws: SagaStoreError.timelineRewritten(sagaId: "j1:h1", stored: 3, given: 1)) {
            try await store.apply(sagaId: "j1:h1", expectedVersion: 3, newState: shorter,
                                  outbox: [Fixture.message("task-x")], at: Fixture.at(9))
        }
        let after = try #require(try await store.saga(id: "j1:h1"))
        #expect(after.version == 3 && after.state == states[2])
        #expect(try await store.pendingOutbox(limit: 10).isEmpty)
        // The next real step still goes on from the stored one.
        #expect(try await store.apply(sagaId: "j1:h1", expectedVersion: 3, newState: states[3], outbox: [],
                                      at: Fixture.at(10)) == .applied(newVersion: 4))
        #expect(try await store.saga(id: "j1:h1")?.state == states[3])
    }

    @Test("a recorded timeline is never dropped: a state without one is refused", arguments: StoreKind.allCases)
    func aRecordedTimelineIsNeverDropped(kind: StoreKind) async throws {
        let states = Self.steps()
        let store = try await Self.applied(kind, Array(states.prefix(2)))
        let unrecorded = try Self.withoutTimeline(states[2])
        await #expect(throws: SagaStoreError.timelineRewritten(sagaId: "j1:h1", stored: 2, given: 0)) {
            try await store.apply(sagaId: "j1:h1", expectedVersion: 2, newState: unrecorded, outbox: [], at: Fixture.at(9))
        }
        #expect(try await store.saga(id: "j1:h1")?.state == states[1])
    }

    @Test("a saga without a timeline (stored before timelines) stays without one", arguments: StoreKind.allCases)
    func anUnrecordedTimelineStaysUnrecorded(kind: StoreKind) async throws {
        let store = try kind.make()
        let (job, _) = Fixture.job("j1", hosts: ["h1"])
        let unrecorded = try Self.withoutTimeline(Fixture.saga("j1", "h1"))
        try await store.createJob(job, sagas: [unrecorded])
        let started = Fixture.started(unrecorded)
        #expect(started.timeline == nil, "the reducer leaves an unrecorded timeline unrecorded")
        #expect(try await store.apply(sagaId: "j1:h1", expectedVersion: 0, newState: started, outbox: [],
                                      at: Fixture.at(1)) == .applied(newVersion: 1))
        #expect(try await store.saga(id: "j1:h1")?.state == started)
    }

    /// The state as a saga stored before timelines decodes: no `timeline` key.
    static func withoutTimeline(_ state: HostSagaState) throws -> HostSagaState {
        let json = try WireCoding.encode(state)
        var text = String(decoding: json, as: UTF8.self)
        text = text.replacingOccurrences(of: #""timeline":\[[^\]]*\],"#, with: "", options: .regularExpression)
        let decoded = try WireCoding.decode(HostSagaState.self, from: Data(text.utf8))
        #expect(decoded.timeline == nil)
        return decoded
    }
}
