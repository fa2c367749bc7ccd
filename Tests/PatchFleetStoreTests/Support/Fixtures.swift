import Foundation
import PatchFleetCore
import PatchFleetStore

/// Jobs, sagas, transitions and messages for store tests. States are made by
/// the real reducer, so the store is tested with states the coordinator makes.
enum Fixture {
    static let t0 = Instant(secondsSinceEpoch: 1_700_000_000)

    static func at(_ seconds: Double) -> Instant { t0.adding(seconds: seconds) }

    static func spec(_ jobId: String, hosts: [String]) -> JobSpec {
        JobSpec(id: jobId, targets: JobTargets(hosts: hosts), updates: UpdateSelection(updateIds: ["KB5034441"]))
    }

    static func saga(_ jobId: String, _ host: String, cluster: String? = "c1") -> HostSagaState {
        HostSagaState(jobId: jobId, target: TargetHost(host: host, cluster: cluster), policy: Policy(),
                      updateIds: ["KB5034441"], deploymentCollection: "PatchFleet \(jobId)")
    }

    static func job(_ jobId: String, hosts: [String], at seconds: Double = 0) -> (JobRecord, [HostSagaState]) {
        (JobRecord(spec: spec(jobId, hosts: hosts), submittedAt: at(seconds)), hosts.map { saga(jobId, $0) })
    }

    static func event(_ state: HostSagaState, _ body: EventBody, at seconds: Double = 1) -> HostSagaState {
        HostSaga.reduce(state, .control(state.sagaId, at: at(seconds), body)).0
    }

    /// Started: phase prechecking, saga version 1.
    static func started(_ state: HostSagaState) -> HostSagaState { event(state, .start) }
    /// Flips the pause flag: a real state change that issues no command.
    static func toggled(_ state: HostSagaState) -> HostSagaState { event(state, state.paused ? .resume : .pause) }
    /// Done (skipped): frees its host.
    static func finished(_ state: HostSagaState) -> HostSagaState {
        event(state, state.isPending ? .skip(ReasonPayload(reason: "test")) : .cancel)
    }

    static func message(_ id: String, at seconds: Double = 1, notBefore: Double? = nil) -> OutboxMessage {
        OutboxMessage(id: id, exchange: "patchfleet.tasks", routingKey: "drain",
                      headers: ["correlation_id": "saga", "x-attempt": "1"], body: Data("{\"id\":\"\(id)\"}".utf8),
                      createdAt: at(seconds), notBefore: notBefore.map(at))
    }
}
