import Logging
import ServiceLifecycle

/// The coordinator or a worker as a swift-service-lifecycle `Service`:
/// SIGTERM or SIGINT start a graceful shutdown, which calls `shutdown` (stop
/// taking messages) and then waits for `body` to return. The body is never
/// cancelled by a signal: work in hand must finish and its results must be
/// published before the process exits (exit status 0).
struct FleetProcessService: Service, CustomStringConvertible {
    let name: String
    let body: @Sendable () async throws -> Void
    let shutdown: @Sendable () async -> Void
    let logger: Logger

    var description: String { name }

    func run() async throws {
        let logger = logger, shutdown = shutdown
        try await withGracefulShutdownHandler {
            try await body()
        } onGracefulShutdown: {
            logger.notice("signal received: finishing the work in hand")
            Task { await shutdown() }
        }
    }
}

/// Runs `run` as the process's one service until it returns; SIGINT and
/// SIGTERM call `shutdown` first (see `FleetProcessService`). No maximum
/// shutdown time: a person or an orchestrator that cannot wait sends SIGKILL,
/// which the fleet survives by design (redelivery, observe-then-act).
func runUntilSignalled(logger: Logger, name: String = "patchfleet", _ run: @escaping @Sendable () async throws -> Void,
                       shutdown: @escaping @Sendable () async -> Void) async throws {
    let service = FleetProcessService(name: name, body: run, shutdown: shutdown, logger: logger)
    var quiet = logger
    quiet.logLevel = max(logger.logLevel, .notice)  // the group's own start/stop chatter
    let group = ServiceGroup(configuration: ServiceGroupConfiguration(
        services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: quiet))
    try await group.run()
}
