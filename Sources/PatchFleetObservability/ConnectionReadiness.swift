import AMQP
import CoreMetrics
import Synchronization

/// Follows an AMQP connection's life-cycle events so `/readyz` can say
/// whether the process can do its work right now (a worker cut off from the
/// broker should leave a load balancer's rotation and not be restarted for
/// it: liveness stays green while recovery runs).
public final class ConnectionReadiness: Sendable {
    private let state = Mutex<String?>(nil)
    private let reconnects = Counter(label: "patchfleet_broker_reconnects_total")
    private let connected = Gauge(label: "patchfleet_broker_connected")

    public init() {}

    /// Follows `connection` until its events end (connection closed).
    public func follow(_ connection: AMQPConnection) async {
        connected.record(1)
        defer { connected.record(0) }
        for await event in connection.events() {
            switch event {
            case .reconnected:
                reconnects.increment()
                connected.record(1)
                state.withLock { $0 = nil }
            case .connected, .unblocked:
                state.withLock { $0 = nil }
            case .disconnected(let error):
                connected.record(0)
                state.withLock { $0 = "broker connection lost (\(error)); reconnecting" }
            case .blocked(let reason):
                state.withLock { $0 = "the broker blocked publishing: \(reason)" }
            case .closed:
                state.withLock { $0 = "broker connection closed" }
                return
            }
        }
    }

    /// nil when connected, else why not.
    public var problem: String? { state.withLock { $0 } }
}
