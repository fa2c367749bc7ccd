import CoreMetrics
import Foundation
import PatchFleetWire
import Synchronization

/// What a worker records for Prometheus through swift-metrics (no-ops
/// unless the process bootstrapped a backend):
///
/// - `patchfleet_worker_tasks_in_flight{role}`: tasks being carried out now;
/// - `patchfleet_worker_tasks_total{role,command,outcome}`: `succeeded`,
///   `failed` (the backend said no; the saga decides), `dead_lettered`
///   (refused: unsigned, undecodable, expired...), `requeued` (no confirmed result);
/// - `patchfleet_worker_task_duration_seconds{command}`: wall time per task;
/// - `patchfleet_worker_queue_lag_seconds{role}`: how long a task waited
///   between the coordinator writing it and a worker taking it (the
///   envelope's timestamp has whole seconds: the low buckets mean "< 1 s").
struct WorkerMetrics: Sendable {
    func started(_ role: Role, messageTimestamp: UInt64?) {
        Gauge(label: "patchfleet_worker_tasks_in_flight", dimensions: [("role", role.rawValue)]).record(Self.inFlight.add(role, 1))
        if let sent = messageTimestamp {
            let lag = max(0, Date().timeIntervalSince1970 - Double(sent))
            Timer(label: "patchfleet_worker_queue_lag_seconds", dimensions: [("role", role.rawValue)])
                .recordNanoseconds(Int64(lag * 1_000_000_000))
        }
    }

    func finished(_ role: Role, command: String, outcome: String, seconds: Double?) {
        Gauge(label: "patchfleet_worker_tasks_in_flight", dimensions: [("role", role.rawValue)]).record(Self.inFlight.add(role, -1))
        Counter(label: "patchfleet_worker_tasks_total",
                dimensions: [("role", role.rawValue), ("command", command), ("outcome", outcome)]).increment()
        if let seconds {
            Timer(label: "patchfleet_worker_task_duration_seconds", dimensions: [("command", command)])
                .recordNanoseconds(Int64(max(0, seconds) * 1_000_000_000))
        }
    }

    /// Gauges record absolute values: the count per role lives here.
    private static let inFlight = InFlightCounts()
}

private final class InFlightCounts: Sendable {
    private let counts = Mutex<[Role: Int]>([:])
    func add(_ role: Role, _ delta: Int) -> Int {
        counts.withLock { table in
            table[role, default: 0] += delta
            return table[role]!
        }
    }
}
