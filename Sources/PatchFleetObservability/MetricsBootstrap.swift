import CoreMetrics
import Prometheus
import Synchronization

/// The process's one Prometheus registry behind swift-metrics: the
/// coordinator, worker and AMQP code record through the swift-metrics API
/// (no Prometheus in those libraries), and `/metrics` renders this registry.
public enum FleetMetricsRegistry {
    private static let installed = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Saga steps last seconds to hours (an install is up to two hours, a
    /// reboot minutes), tasks on a worker milliseconds to minutes: buckets
    /// that separate what an operator would tell apart.
    public static let sagaStepBuckets: [Duration] = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14_400].map { .seconds($0) }
    public static let taskBuckets: [Duration] = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300].map { .milliseconds(Int64($0 * 1000)) }

    /// Installs the registry as swift-metrics' backend (once per process;
    /// later calls return the same registry).
    @discardableResult
    public static func bootstrap() -> PrometheusCollectorRegistry {
        installed.withLock { current in
            if let current { return current }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = taskBuckets
            factory.durationHistogramBuckets = [
                MetricName.sagaStepDuration: sagaStepBuckets,
                MetricName.workerTaskDuration: taskBuckets,
                MetricName.workerQueueLag: taskBuckets,
                MetricName.taskRoundTrip: sagaStepBuckets,
            ]
            MetricsSystem.bootstrap(factory)
            current = registry
            return registry
        }
    }

    /// The registry, if `bootstrap()` ran.
    public static var registry: PrometheusCollectorRegistry? { installed.withLock { $0 } }
}

/// Every series name in one place, so docs, dashboards and the code agree.
public enum MetricName {
    public static let sagaStepDuration = "patchfleet_saga_step_duration_seconds"
    public static let taskRoundTrip = "patchfleet_task_round_trip_seconds"
    public static let workerTaskDuration = "patchfleet_worker_task_duration_seconds"
    public static let workerQueueLag = "patchfleet_worker_queue_lag_seconds"
}
