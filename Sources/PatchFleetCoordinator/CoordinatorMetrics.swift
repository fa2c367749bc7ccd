import CoreMetrics
import Foundation
import PatchFleetCore
import PatchFleetStore
import PatchFleetWire
import Synchronization

/// What the coordinator records for Prometheus, through the swift-metrics
/// API (the process picks the backend: `/metrics` in production, nothing in
/// tests that don't bootstrap one). Series:
///
/// - `patchfleet_saga_step_duration_seconds{step}`: saga time each step took
///   (histogram), recorded when a saga leaves the step;
/// - `patchfleet_task_round_trip_seconds{command}`: saga time from a task's
///   issue to its answer, queueing included (the fleet's lag as a whole);
/// - `patchfleet_hosts{phase}`, `patchfleet_jobs{state}`,
///   `patchfleet_tasks_in_flight`: sampled from the store;
/// - `patchfleet_host_outcomes_total{outcome}` and
///   `patchfleet_host_failures_total{outcome,step}`: why hosts did not get patched;
/// - `patchfleet_results_total{outcome}`: applied, duplicate, stale, refused.
public final class CoordinatorMetrics: Sendable {
    /// The queue depths of the last sample, for the dashboard: it shows the
    /// same reading instead of asking the broker again for every snapshot.
    private let depths = Mutex<[String: Int]>([:])

    public init() {}

    /// A committed saga change.
    public func transition(from old: HostSagaState, to new: HostSagaState, at: Instant) {
        if let awaited = old.awaiting, let since = old.awaitingSince, new.version != old.version || new.awaiting != old.awaiting {
            Timer(label: "patchfleet_task_round_trip_seconds", dimensions: [("command", awaited.rawValue)])
                .recordNanoseconds(Self.nanoseconds(at.seconds(since: since)))
        }
        guard old.phase != new.phase else { return }
        if let entered = Self.phaseEntered(old), old.phase != .pending {
            Timer(label: "patchfleet_saga_step_duration_seconds", dimensions: [("step", old.phase.rawValue)])
                .recordNanoseconds(Self.nanoseconds(at.seconds(since: entered)))
        }
        if let outcome = new.outcome, old.outcome == nil {
            Counter(label: "patchfleet_host_outcomes_total", dimensions: [("outcome", outcome.kind.rawValue)]).increment()
            if outcome.kind != .patched {
                Counter(label: "patchfleet_host_failures_total",
                        dimensions: [("outcome", outcome.kind.rawValue), ("step", old.phase.rawValue)]).increment()
            }
        }
    }

    public func result(_ outcome: CoordinatorEngine.ResultOutcome) {
        let label = switch outcome {
        case .applied: "applied"
        case .duplicate: "duplicate"
        case .stale: "stale"
        case .refused: "refused"
        }
        Counter(label: "patchfleet_results_total", dimensions: [("outcome", label)]).increment()
    }

    /// Gauges from the store's view of the unfinished jobs (called on a timer).
    public func sample(jobs: [JobRecord], sagas: [StoredSaga]) {
        var byPhase = Dictionary(uniqueKeysWithValues: SagaPhase.allCases.map { ($0, 0) })
        var inFlight = 0
        for saga in sagas {
            byPhase[saga.state.phase, default: 0] += 1
            if let awaiting = saga.state.awaiting, awaiting.isWorkerTask { inFlight += 1 }
        }
        for (phase, count) in byPhase {
            Gauge(label: "patchfleet_hosts", dimensions: [("phase", phase.rawValue)]).record(count)
        }
        Gauge(label: "patchfleet_tasks_in_flight").record(inFlight)
        var byState = Dictionary(uniqueKeysWithValues: PatchFleetStore.JobState.allCases.map { ($0, 0) })
        for job in jobs { byState[job.state, default: 0] += 1 }
        for (state, count) in byState where !state.isTerminal {
            Gauge(label: "patchfleet_jobs", dimensions: [("state", state.rawValue)]).record(count)
        }
    }

    public func queueDepth(_ queue: String, messages: Int) {
        depths.withLock { $0[queue] = messages }
        Gauge(label: "patchfleet_queue_messages", dimensions: [("queue", queue)]).record(messages)
    }

    /// Messages in `queue` at the last sample (nil before the first).
    public func depth(of queue: String) -> Int? { depths.withLock { $0[queue] } }

    /// When the saga entered the phase it is in, from its own timeline (the
    /// first of the entries at the end that are in that phase): survives a
    /// coordinator restart. Nil for a saga stored before timelines.
    static func phaseEntered(_ saga: HostSagaState) -> Instant? {
        guard let timeline = saga.timeline else { return nil }
        return timeline.reversed().prefix { $0.phase == saga.phase }.last?.at
    }

    static func nanoseconds(_ seconds: Double) -> Int64 { Int64(max(0, seconds) * 1_000_000_000) }
}

extension CommandKind {
    /// Carried out by a worker (as opposed to the coordinator's own timers).
    var isWorkerTask: Bool {
        if case .worker = route { return true }
        return false
    }
}
