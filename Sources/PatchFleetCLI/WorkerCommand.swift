import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetCore
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

    @Option(help: "Comma-separated roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
    var roles = Role.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Tasks carried out at once, per role.")
    var concurrency = 4
    @OptionGroup(title: "Backend")
    var backendOptions: BackendOptions
    @Option(help: """
        Backend seconds between two looks at a host coming back from a restart, or at a VM locked by an \
        operation in flight.
        """)
    var pollSeconds: Double = 30
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
        guard pollSeconds > 0 else { throw ValidationError("--poll-seconds must be > 0 (got \(pollSeconds))") }
        guard !(try parsedRoles()).isEmpty else { throw ValidationError("--roles names no role") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "patchfleet.worker")
        let settings = try fleet.settings()
        let connection = try await AMQPConnection.connect(try fleet.amqpConfiguration(settings), logger: logger)
        let backends = try await backendOptions.make(connection: connection, logger: logger)
        logger.notice("worker backends: \(backends.label)")
        let executor = CommandExecutor(virtualization: backends.virtualization, updates: backends.updates,
                                       timing: .wallClock(timeScale: backendOptions.effectiveTimeScale, pollSeconds: pollSeconds))
        let worker = WorkerService(connection: connection, topology: try fleet.topology(settings), roles: try parsedRoles(),
                                   concurrency: concurrency, executor: executor, logger: logger)
        try await runUntilSignalled(logger: logger, { try await worker.run() }, shutdown: { await worker.shutdown() })
        await connection.close()
    }
}
