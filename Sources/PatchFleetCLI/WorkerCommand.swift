import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetCore
import PatchFleetObservability
import PatchFleetWire
import PatchFleetWorker

/// `patchfleet worker`: a stateless worker process for one or more roles.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker: take drain, deploy/poll and/or rebalance tasks and carry them out.",
        discussion: """
            On SIGTERM or SIGINT the worker stops taking tasks, gives unread ones back to their queues,
            finishes the tasks in hand (publishing their results) and exits 0.
            Example:
              patchfleet worker --roles drain,deploy,rebalance --concurrency 8 --backend simulated --time-scale 120
              patchfleet worker --roles drain --backend config --backend-config /etc/patchfleet/backends.yaml --datacenter b44
            """)

    @Option(help: "Comma-separated roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")). Default: all.")
    var roles: String?
    @Option(help: "Tasks carried out at once, per role. Default: 4.")
    var concurrency: Int?
    @OptionGroup(title: "Backend")
    var backendOptions: BackendOptions
    @OptionGroup var signing: SigningOptions
    @Option(help: """
        Backend seconds between two looks at a VM locked by an operation in flight. Default: 30. (A host \
        coming back from a restart is not waited for here: the saga looks again on a timer.)
        """)
    var pollSeconds: Double?
    @Flag(inversion: .prefixedNo,
          help: "Declare the fleet's exchanges and queues at start. A least-privilege broker user (docs/security.md) may not: run it with --no-declare-topology, after the coordinator has declared them.")
    var declareTopology = true
    @OptionGroup(title: "Observability")
    var observability: ObservabilityOptions
    @OptionGroup var fleet: FleetOptions

    /// The worker's own settings keys (a file's unknown key is an error).
    static let keys: Set<String> = ["roles", "concurrency", "pollSeconds"]

    static func parseRoles(_ text: String) throws -> [Role] {
        let roles = try text.split(separator: ",").map { name in
            guard let role = Role(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown role '\(name)' in --roles; known: \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return role
        }
        guard !roles.isEmpty else { throw ValidationError("--roles names no role") }
        return roles
    }

    func run() async throws {
        let settings = try fleet.settings()
        try observability.bootstrapLogging(settings, section: "worker")
        let logger = Logger(label: "patchfleet.worker")
        try settings.checkKeys("worker", known: BackendOptions.keys.union(SigningOptions.keys).union(ObservabilityOptions.keys).union(Self.keys))
        let http = try usableAddress(try observability.address(settings, section: "worker", default: nil), logger: logger)
        let backendChoice = try backendOptions.resolve(settings, section: "worker")
        let signer = try signing.resolve(settings, section: "worker")
        let roles = try Self.parseRoles(try settings.string("worker", "roles", flag: roles,
                                                            default: Role.allCases.map(\.rawValue).joined(separator: ",")))
        let concurrency = try settings.int("worker", "concurrency", flag: concurrency, default: 4)
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be >= 1 (got \(concurrency))") }
        let pollSeconds = try settings.double("worker", "pollSeconds", flag: pollSeconds, default: 30)
        guard pollSeconds > 0 else { throw ValidationError("--poll-seconds must be > 0 (got \(pollSeconds))") }
        let connection = try await AMQPConnection.connect(try fleet.amqpConfiguration(settings), logger: logger)
        let backends = try await backendChoice.make(connection: connection, logger: logger)
        logger.notice("worker backends: \(backends.label)")
        let executor = CommandExecutor(virtualization: backends.virtualization, updates: backends.updates,
                                       timing: .wallClock(timeScale: backendChoice.effectiveTimeScale, pollSeconds: pollSeconds))
        let worker = WorkerService(connection: connection, topology: try fleet.topology(settings), roles: roles,
                                   concurrency: concurrency, executor: executor, declaresTopology: declareTopology,
                                   signer: signer, logger: logger)
        var sides: [@Sendable () async throws -> Void] = []
        if let (httpAddress, chosen) = http {
            // Metrics and probes only: a worker has nothing to show beyond them.
            let readiness = ConnectionReadiness()
            let server = ObservabilityServer(address: httpAddress, registry: FleetMetricsRegistry.bootstrap(), logger: logger,
                                             readiness: { readiness.problem })
            sides.append { await readiness.follow(connection) }
            sides.append(httpSideService(server, chosen: chosen, logger: logger, onListening: {
                logger.notice("metrics and probes on http://\(httpAddress.host):\($0)/")
            }))
        }
        let sideServices = sides
        try await runUntilSignalled(logger: logger, name: "worker", {
            try await runWithSideServices({ try await worker.run() }, sides: sideServices)
        }, shutdown: { await worker.shutdown() })
        await connection.close()
    }
}
