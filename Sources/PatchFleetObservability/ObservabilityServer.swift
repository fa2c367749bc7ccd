import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// What a process says about itself over HTTP: `/metrics` (Prometheus text
/// format), `/healthz` (alive: the process answers) and `/readyz` (ready:
/// broker connected and, for the coordinator, the store open; 503 with the
/// reason otherwise), plus whatever routes the caller adds (the dashboard).
/// Kubernetes probes, systemd watchdogs and Prometheus all read these.
public struct ObservabilityServer: Sendable {
    public typealias Readiness = @Sendable () async -> String?

    public let address: HTTPAddress
    let registry: PrometheusCollectorRegistry
    let readiness: Readiness
    let logger: Logger
    let extraRoutes: @Sendable (Router<BasicRequestContext>, StopFlag) -> Void
    /// Set when the server starts to stop: long-lived responses (event
    /// streams) end on it, or a graceful shutdown would wait for them forever.
    public let stopping = StopFlag()

    /// - Parameters:
    ///   - readiness: nil when ready, else why not (it goes in the 503 body).
    ///   - extraRoutes: adds routes (the dashboard) next to the health ones.
    public init(address: HTTPAddress, registry: PrometheusCollectorRegistry, logger: Logger,
                readiness: @escaping Readiness,
                extraRoutes: @escaping @Sendable (Router<BasicRequestContext>, StopFlag) -> Void = { _, _ in }) {
        self.address = address
        self.registry = registry
        self.readiness = readiness
        self.logger = logger
        self.extraRoutes = extraRoutes
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let registry = registry
        let readiness = readiness
        router.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/healthz") { _, _ in Self.text(.ok, "ok\n") }
        router.get("/readyz") { _, _ -> Response in
            if let problem = await readiness() { return Self.text(.serviceUnavailable, "not ready: \(problem)\n") }
            return Self.text(.ok, "ready\n")
        }
        extraRoutes(router, stopping)
        return router
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// Serves until the surrounding task is cancelled. `onListening` gets the
    /// bound port (useful with port 0 in tests).
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)  // no line per scrape
        let app = Application(
            router: router(),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "patchfleet"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: quiet)
        // Stopped gracefully on cancellation (open event streams end, the
        // listener closes) rather than torn down mid-response.
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: quiet))
        // Unstructured, so the caller's cancellation reaches the server only
        // as the graceful shutdown below, not as a cancelled child channel.
        let running = Task { try await group.run() }
        try await withTaskCancellationHandler {
            try await running.value
        } onCancel: { [stopping] in
            stopping.set()
            Task { await group.triggerGracefulShutdown() }
        }
    }
}

/// A one-way flag: set once, read anywhere.
public final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public func set() { value.store(true, ordering: .releasing) }
    public var isSet: Bool { value.load(ordering: .acquiring) }
}
