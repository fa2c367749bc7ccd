import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetCoordinator
import PatchFleetCore
import PatchFleetDashboard
import PatchFleetObservability
import PatchFleetReport
import PatchFleetSimulator
import PatchFleetStore
import PatchFleetWire

/// `patchfleet coordinator`: accepts jobs, owns the host sagas in its store,
/// schedules per cluster, and publishes tasks and events.
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the coordinator: jobs in, host sagas, tasks out, results in, events out.",
        discussion: """
            State lives in the SQLite store (--store); after a restart the coordinator resumes every unfinished
            job from it. On SIGTERM or SIGINT it stops taking messages, publishes what is pending and exits 0.
            Jobs are validated and scheduled against the inventory the backend reports (--backend, as the
            workers' option). The saga clock runs at --time-scale: the lab's pace, or real time with real backends.
            Examples:
              patchfleet coordinator --store /var/lib/patchfleet/coordinator.sqlite --catalog docs/examples/inventory.yaml --time-scale 120
              patchfleet coordinator --store /var/lib/patchfleet/coordinator.sqlite --catalog /etc/patchfleet/update-lists.yaml \\
                --backend config --backend-config /etc/patchfleet/backends.yaml --datacenter b44
            """)

    @Option(help: "The SQLite saga store (created if missing). Or coordinator.store in the configuration file.")
    var store: String?
    @Option(help: "A file with the update lists jobs may name: `updateLists:` of an inventory or lab file, or a file with only that key.")
    var catalog: String?
    @Option(help: """
        Seconds the scheduler may reuse its last read of the inventory (each read queries the managers). \
        Default: 0 with --backend simulated, 15 with --backend config.
        """)
    var inventoryRefreshSeconds: Double?
    @OptionGroup(title: "Backend")
    var backendOptions: BackendOptions
    @OptionGroup var signing: SigningOptions
    @Option(help: "Who may patch what: a YAML file of broker users and the clusters, collections and standalone hosts each may patch (docs/operations.md). Without it, any user allowed to publish to the control exchange may.")
    var submitters: String?
    @Option(help: """
        Wall-clock seconds every task is given at least before it counts as unanswered, whatever the policy's \
        timeouts say at this time scale (a sped-up lab turns 15 minutes into a second). Default: 30.
        """)
    var minimumTaskWaitSeconds: Double?
    @Option(help: """
        A file holding the dashboard's access token (16+ characters): browsers give it as the Basic-auth \
        password or once as ?token=, scripts as `Authorization: Bearer`. Required when --http-address is not loopback.
        """)
    var dashboardTokenFile: String?
    @OptionGroup(title: "Observability")
    var observability: ObservabilityOptions
    @Option(help: "Where each finished job's run report goes (<job>.html, <job>.json). Default: <store>.reports. Or coordinator.reportsDir.")
    var reportsDir: String?
    @OptionGroup var fleet: FleetOptions

    static let defaultHTTPAddress = "127.0.0.1:9470"
    /// The coordinator's own settings keys (a file's unknown key is an error).
    static let keys: Set<String> = ["store", "catalog", "inventoryRefreshSeconds", "submitters", "minimumTaskWaitSeconds", "dashboardTokenFile", "reportsDir"]

    func run() async throws {
        let settings = try fleet.settings()
        try observability.bootstrapLogging(settings, section: "coordinator")
        let logger = Logger(label: "patchfleet.coordinator")
        try settings.checkKeys("coordinator", known: BackendOptions.keys.union(SigningOptions.keys).union(ObservabilityOptions.keys).union(Self.keys))
        let http = try usableAddress(try observability.address(settings, section: "coordinator", default: Self.defaultHTTPAddress),
                                     logger: logger)
        let httpAddress = http?.0
        let token = try settings.optionalString("coordinator", "dashboardTokenFile", flag: dashboardTokenFile).map { path in
            do { return try AccessToken.load(path: path) } catch { throw ValidationError("\(error)") }
        }
        if let httpAddress, !httpAddress.isLoopback, token == nil {
            throw ValidationError("the dashboard on \(httpAddress) is reachable from other machines: give --dashboard-token-file (or listen on 127.0.0.1)")
        }
        let backendChoice = try backendOptions.resolve(settings, section: "coordinator")
        let signer = try signing.resolve(settings, section: "coordinator")
        let submitterPolicy = try settings.optionalString("coordinator", "submitters", flag: submitters).map { path in
            do { return try SubmitterPolicy.load(path: path) } catch { throw ValidationError("\(error)") }
        }
        if submitterPolicy == nil {
            logger.warning("no submitter policy: any broker user allowed to publish to the control exchange may patch anything (give --submitters)")
        }
        guard let store = try settings.optionalString("coordinator", "store", flag: store) else {
            throw ValidationError("the coordinator needs its store: --store FILE (or coordinator.store in the configuration)")
        }
        guard let catalog = try settings.optionalString("coordinator", "catalog", flag: catalog) else {
            throw ValidationError("the coordinator needs the update lists: --catalog FILE (or coordinator.catalog in the configuration)")
        }
        let reports = try settings.optionalString("coordinator", "reportsDir", flag: reportsDir)
            .map { ReportFiles(directory: URL(fileURLWithPath: $0)) } ?? ReportFiles.beside(store: store)
        let minimumWait = try settings.double("coordinator", "minimumTaskWaitSeconds", flag: minimumTaskWaitSeconds, default: 30)
        guard minimumWait >= 0 else { throw ValidationError("--minimum-task-wait-seconds must be >= 0 (got \(minimumWait))") }
        let refresh = try settings.double("coordinator", "inventoryRefreshSeconds", flag: inventoryRefreshSeconds,
                                          default: backendChoice.kind == .config ? 15 : 0)
        guard refresh >= 0 else { throw ValidationError("--inventory-refresh-seconds must be >= 0 (got \(refresh))") }
        let updateLists: [UpdateList]
        do { updateLists = try LabConfiguration.load(contentsOf: URL(fileURLWithPath: catalog)).inventory.updateLists } catch {
            throw ValidationError("cannot read update lists from \(catalog): \(error)")
        }
        let sagaStore: SQLiteSagaStore
        do { sagaStore = try SQLiteSagaStore(path: store) } catch { throw ValidationError("cannot open the store \(store): \(error)") }
        // The saga clock: wall time, sped up like the lab's, continuing across restarts.
        let clock = try AnchoredClock.load(path: store + ".clock", timeScale: backendChoice.effectiveTimeScale)
        let now: @Sendable () -> Instant = { clock.now() }
        let connection = try await AMQPConnection.connect(try fleet.amqpConfiguration(settings), logger: logger)
        let backends = try await backendChoice.make(connection: connection, logger: logger)
        logger.notice("coordinator backends: \(backends.label)")
        let topology = try fleet.topology(settings)
        let engine = CoordinatorEngine(store: sagaStore, topology: topology, virtualization: backends.virtualization,
                                       updates: backends.updates, updateLists: updateLists, now: now,
                                       inventoryMaxAge: .milliseconds(Int64(refresh * 1000)), submitters: submitterPolicy,
                                       minimumTaskWaitSeconds: minimumWait * backendChoice.effectiveTimeScale,
                                       reports: reports,
                                       // 0.2 s of saga time: nothing against hours of patching, and
                                       // it spares a busy coordinator a whole-job decision per batch.
                                       minimumTickSpacing: .milliseconds(Int64(min(200, 200 / backendChoice.effectiveTimeScale))),
                                       logger: logger)
        let service = CoordinatorService(engine: engine, connection: connection, store: sagaStore, topology: topology,
                                         now: now, signer: signer, timeScale: backendChoice.effectiveTimeScale,
                                         minimumTaskWallSeconds: minimumWait, logger: logger)
        var sides: [@Sendable () async throws -> Void] = []
        let feed = DeadLetterFeed()
        if let httpAddress {
            let registry = FleetMetricsRegistry.bootstrap()
            let readiness = ConnectionReadiness()
            // The depth the service's metrics sampler read last (every 2 s).
            let data = DashboardData(store: sagaStore, now: now, deadLetters: feed,
                                     deadLetterDepth: { engine.metrics.depth(of: topology.deadQueue) })
            // The run report of any job, as `patchfleet report` renders it (a running job: so far).
            let dashboard = Dashboard(data: data, token: token, logger: logger, reportPage: { id in
                guard let job = try await sagaStore.job(id: id) else { return nil }
                return RunReport(job: job, sagas: try await sagaStore.sagas(jobId: id)).html()
            })
            let server = ObservabilityServer(address: httpAddress, registry: registry, logger: logger,
                                             readiness: { readiness.problem }, extraRoutes: { dashboard.addRoutes(to: $0, stopping: $1) })
            sides.append { await readiness.follow(connection) }
            sides.append { try await feed.follow(connection, topology: topology) }
            sides.append(httpSideService(server, chosen: http?.chosen ?? false, logger: logger, onListening: { port in
                logger.notice("dashboard and metrics on http://\(HTTPAddress(host: httpAddress.host, port: port))/\(token == nil ? "" : " (token required)")")
            }))
        }
        let sideServices = sides
        try await runUntilSignalled(logger: logger, name: "coordinator", {
            try await runWithSideServices({ try await service.run() }, sides: sideServices, stopSides: { await feed.stop() })
        }, shutdown: { await service.shutdown() })
        await connection.close()
    }
}
