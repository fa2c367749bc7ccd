import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetBackends
import PatchFleetCore
import PatchFleetLab
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
            """)

    enum Backend: String, ExpressibleByArgument, CaseIterable {
        /// The lab (simulated datacenter) over AMQP.
        case simulated
        /// The real backends named in --backend-config for --datacenter
        /// (VMM or Failover Clustering, plus ConfigMgr, over PowerShell/SSH).
        case config
    }

    @Option(help: "Comma-separated roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
    var roles = Role.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Tasks carried out at once, per role.")
    var concurrency = 4
    @Option(help: "Backend: simulated (the lab) or config (the real backends of --backend-config).")
    var backend: Backend = .simulated
    @Option(help: "With --backend config: the backend configuration file (see docs/backends.md).")
    var backendConfig: String?
    @Option(help: "With --backend config: which datacenter of the configuration this worker serves.")
    var datacenter: String?
    @Option(help: "Simulated seconds per wall-clock second; must match the lab's.")
    var timeScale: Double = 60
    @Option(help: "The lab's request queue.")
    var labQueue = "patchfleet.lab"
    @Flag(inversion: .prefixedNo,
          help: "Declare the fleet's exchanges and queues at start. A least-privilege broker user (docs/security.md) may not: run it with --no-declare-topology, after the coordinator has declared them.")
    var declareTopology = true
    @OptionGroup var fleet: FleetOptions

    func parsedRoles() throws -> [Role] {
        try roles.split(separator: ",").map { name in
            guard let role = Role(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown role '\(name)' in --roles; known: \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return role
        }
    }

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be >= 1 (got \(concurrency))") }
        guard timeScale > 0 else { throw ValidationError("--time-scale must be > 0 (got \(timeScale))") }
        guard !(try parsedRoles()).isEmpty else { throw ValidationError("--roles names no role") }
        if backend == .config, backendConfig == nil || datacenter == nil {
            throw ValidationError("--backend config needs --backend-config FILE and --datacenter NAME")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "patchfleet.worker")
        let settings = try fleet.settings()
        let connection = try await AMQPConnection.connect(try fleet.amqpConfiguration(settings), logger: logger)
        let executor: CommandExecutor
        switch backend {
        case .simulated:
            let client = try await LabClient.connect(connection: connection, requestQueue: labQueue)
            executor = CommandExecutor(virtualization: client, updates: client,
                                       timing: .wallClock(timeScale: timeScale, pollSeconds: 30))
        case .config:
            let configuration: BackendConfiguration
            do { configuration = try BackendConfiguration.load(contentsOf: URL(fileURLWithPath: backendConfig!)) } catch {
                throw ValidationError("cannot load the backend configuration \(backendConfig!): \(error)")
            }
            let backends: BackendSet
            do { backends = try BackendFactory.make(configuration, datacenter: datacenter!, logger: logger) } catch {
                throw ValidationError("\(error.message)")
            }
            logger.notice("worker backends: \(backends.label) for datacenter \(datacenter!)")
            executor = CommandExecutor(virtualization: backends.virtualization, updates: backends.updates,
                                       timing: .wallClock(timeScale: 1, pollSeconds: 30))
        }
        let worker = WorkerService(connection: connection, topology: try fleet.topology(settings), roles: try parsedRoles(),
                                   concurrency: concurrency, executor: executor, declaresTopology: declareTopology,
                                   logger: logger)
        try await runUntilSignalled(logger: logger, { try await worker.run() }, shutdown: { await worker.shutdown() })
        await connection.close()
    }
}
