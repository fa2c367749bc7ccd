import CoreMetrics
import Foundation
import PatchFleetWire

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
        Meter(label: "patchfleet_worker_tasks_in_flight", dimensions: [("role", role.rawValue)]).increment()
        if let sent = messageTimestamp {
            let lag = max(0, Date().timeIntervalSince1970 - Double(sent))
            Timer(label: "patchfleet_worker_queue_lag_seconds", dimensions: [("role", role.rawValue)])
                .recordNanoseconds(Int64(lag * 1_000_000_000))
        }
    }

    func finished(_ role: Role, command: String, outcome: String, seconds: Double?) {
        Meter(label: "patchfleet_worker_tasks_in_flight", dimensions: [("role", role.rawValue)]).decrement()
        Counter(label: "patchfleet_worker_tasks_total",
                dimensions: [("role", role.rawValue), ("command", command), ("outcome", outcome)]).increment()
        if let seconds {
            Timer(label: "patchfleet_worker_task_duration_seconds", dimensions: [("command", command)])
                .recordNanoseconds(Int64(max(0, seconds) * 1_000_000_000))
        }
    }
}
